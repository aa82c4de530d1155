"""Promise to pay, dispute, payment plan and contact preferences, through the portal pages."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from betaalreis.ledger.models import Invoice, InvoiceStatus, TimelineEvent, TimelineKind
from betaalreis.ledger.timeline_text import phrase_in_language, summary_in_language
from betaalreis.payments import plans
from betaalreis.payments.models import CheckoutPayment, PaymentPlan, PlanStatus
from betaalreis.portal import services
from betaalreis.portal.links import make_portal_token
from betaalreis.portal.models import Dispute, DisputeStatus, PortalSettings, Promise, PromiseStatus
from betaalreis.portal.tests.factories import give_claim_stage, make_creditor, make_debtor, make_invoice, plan_form_data

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def debtor(client):
    debtor = make_debtor(make_creditor())
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))
    return debtor


def test_promise_pauses_until_date(client, debtor):
    make_invoice(debtor, "F-001", "80.00")
    today = timezone.localdate()
    promised = today + dt.timedelta(days=10)

    response = client.post(reverse("portal:promise", kwargs={"debtor_id": debtor.pk}), {"promised_date": promised.isoformat()})

    assert response.status_code == 302
    promise = Promise.objects.get()
    assert promise.amount == Decimal("80.00")
    assert services.paused_debtor_ids(debtor.creditor_id, today) == {debtor.pk}
    assert services.paused_debtor_ids(debtor.creditor_id, promised) == {debtor.pk}
    assert services.paused_debtor_ids(debtor.creditor_id, promised + dt.timedelta(days=1)) == set()
    event = TimelineEvent.objects.filter(debtor=debtor, summary__startswith="Betaalbelofte").get()
    assert event.data["channel"] == "portal"


def letter_sent_yesterday(debtor, amount: str) -> None:
    """Give `debtor` an overdue invoice named by a 14-day letter sent yesterday, so its term is running."""
    from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus

    invoice = give_claim_stage(make_invoice(debtor, "F-001", amount, days_overdue=30), "fourteen_day_letter")
    sent_at = timezone.now() - dt.timedelta(days=1)
    letter = Communication.objects.create(
        creditor=debtor.creditor, debtor=debtor, channel="letter", stage="fourteen_day_letter", language="nl",
        idempotency_key="letter-1", status=CommunicationStatus.SENT, run_date=timezone.localdate(sent_at),
        sent_at=sent_at, total_amount=Decimal(amount),
    )
    CommunicationInvoice.objects.create(communication=letter, invoice=invoice, open_amount=Decimal(amount))


def test_promise_page_states_term_and_costs(client, debtor):
    letter_sent_yesterday(debtor, "300.00")
    account = services.load_accounts([debtor.pk], timezone.localdate())[0]

    page = client.get(reverse("portal:promise", kwargs={"debtor_id": debtor.pk})).content.decode()

    assert account.term_end is not None
    assert account.term_end > timezone.localdate()
    assert account.costs_after_term == Decimal("45.00")
    assert "De betaaltermijn van onze 14-dagenbrief loopt tot en met" in page
    assert "45,00 incassokosten verschuldigd, ook als u hier een latere datum kiest" in page


def test_promise_page_term_in_english(client, debtor):
    letter_sent_yesterday(debtor, "300.00")

    # The portal language follows the cookie that sign-in sets from the debtor's language.
    client.cookies["django_language"] = "en"

    page = client.get(reverse("portal:promise", kwargs={"debtor_id": debtor.pk})).content.decode()

    assert "The payment term of our 14-day letter runs until and including" in page
    assert "you owe €45.00 in collection costs" in page


def test_promise_page_without_letter_names_no_costs(client, debtor):
    make_invoice(debtor, "F-001", "300.00", days_overdue=30)

    page = client.get(reverse("portal:promise", kwargs={"debtor_id": debtor.pk})).content.decode()

    assert "14-dagenbrief" not in page


def test_promise_beyond_maximum_rejected(client, debtor):
    make_invoice(debtor, "F-001", "80.00")
    PortalSettings.objects.create(creditor=debtor.creditor, max_promise_days=7)
    too_late = timezone.localdate() + dt.timedelta(days=8)

    response = client.post(reverse("portal:promise", kwargs={"debtor_id": debtor.pk}), {"promised_date": too_late.isoformat()})

    assert response.status_code == 200
    assert "Kies een datum uiterlijk" in response.content.decode()
    assert not Promise.objects.exists()


def test_second_promise_rejected(client, debtor):
    make_invoice(debtor, "F-001", "80.00")
    today = timezone.localdate()
    services.do_make_promise(debtor, today + dt.timedelta(days=3), today=today)

    response = client.post(reverse("portal:promise", kwargs={"debtor_id": debtor.pk}),
                           {"promised_date": (today + dt.timedelta(days=5)).isoformat()})

    assert "al een betaalbelofte" in response.content.decode()
    assert Promise.objects.count() == 1


def test_settle_promises_kept_and_broken(debtor):
    other = make_debtor(debtor.creditor, "K002")
    paid_invoice = make_invoice(debtor, "F-001", "10.00")
    make_invoice(other, "F-002", "20.00")
    today = timezone.localdate()
    services.do_make_promise(debtor, today, today=today)
    services.do_make_promise(other, today, today=today)
    paid_invoice.open_amount = Decimal("0.00")
    paid_invoice.status = InvoiceStatus.PAID
    paid_invoice.save()

    kept, broken = services.settle_promises(debtor.creditor_id, today + dt.timedelta(days=1))

    assert (kept, broken) == (1, 1)
    assert Promise.objects.get(debtor=debtor).status == PromiseStatus.KEPT
    assert Promise.objects.get(debtor=other).status == PromiseStatus.BROKEN


def test_dispute_takes_invoice_out_of_dunning(client, debtor):
    invoice = make_invoice(debtor, "F-001", "80.00")
    upload = SimpleUploadedFile("bon.png", PNG, content_type="image/png")

    response = client.post(
        reverse("portal:dispute", kwargs={"invoice_id": invoice.pk}),
        {"reason": "not_received", "message": "Nooit geleverd.", "attachment": upload},
    )

    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.DISPUTED
    dispute = Dispute.objects.get()
    assert dispute.attachment.read() == PNG
    assert TimelineEvent.objects.filter(invoice=invoice, kind=TimelineKind.INVOICE_CHANGED).exists()


def test_dispute_resolved_returns_to_dunning(debtor):
    invoice = make_invoice(debtor, "F-001", "80.00")
    dispute = services.do_open_dispute(debtor, invoice, reason="question", message="Waarom?")

    services.do_resolve_dispute(dispute, resolution="Uitgelegd", source="user:credit-manager")

    invoice.refresh_from_db()
    dispute.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    assert dispute.status == DisputeStatus.RESOLVED


def test_dispute_attachment_type_checked(client, debtor):
    invoice = make_invoice(debtor, "F-001", "80.00")
    upload = SimpleUploadedFile("script.png", b"<script>alert(1)</script>", content_type="image/png")

    response = client.post(
        reverse("portal:dispute", kwargs={"invoice_id": invoice.pk}),
        {"reason": "other", "message": "Zie bijlage", "attachment": upload},
    )

    assert response.status_code == 200
    assert "PDF, PNG of JPEG" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    assert not Dispute.objects.exists()


def test_plan_within_limits_active_at_once(client, debtor):
    first = make_invoice(debtor, "F-001", "200.00")
    second = make_invoice(debtor, "F-002", "100.00")

    response = client.post(reverse("portal:plan", kwargs={"debtor_id": debtor.pk}),
                           plan_form_data(debtor, [first, second], 3))

    assert response.status_code == 302
    plan = PaymentPlan.objects.get()
    assert plan.status == PlanStatus.ACTIVE
    amounts = list(plan.instalments.values_list("amount", flat=True))
    assert amounts == [Decimal("100.00")] * 3
    assert plan.instalments.first().due_date == timezone.localdate()
    first.refresh_from_db()
    assert first.status == InvoiceStatus.PAYMENT_PLAN
    page = client.get(reverse("portal:plan", kwargs={"debtor_id": debtor.pk})).content.decode()
    assert "Betaal termijn 1" in page


def test_plan_outside_limits_waits(client, debtor):
    invoice = make_invoice(debtor, "F-001", "100.00")
    PortalSettings.objects.create(creditor=debtor.creditor, max_plan_terms=6, min_instalment=Decimal("25.00"))

    client.post(reverse("portal:plan", kwargs={"debtor_id": debtor.pk}), plan_form_data(debtor, [invoice], 5))

    plan = PaymentPlan.objects.get()
    assert plan.status == PlanStatus.PENDING_APPROVAL
    assert plan.outside_limits_reason == "een termijnbedrag van €\xa020,00 is minder dan het minimum van €\xa025,00"
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    assert debtor.pk in services.paused_debtor_ids(debtor.creditor_id, timezone.localdate())

    plans.do_decide_plan(plan, approve=True, by="user:credit-manager")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAYMENT_PLAN


def test_small_instalment_reason_named(client, debtor):
    invoice = make_invoice(debtor, "F-001", "100.00")
    PortalSettings.objects.create(creditor=debtor.creditor, max_plan_terms=6, min_instalment=Decimal("25.00"))

    client.post(reverse("portal:plan", kwargs={"debtor_id": debtor.pk}), plan_form_data(debtor, [invoice], 5))

    event = TimelineEvent.objects.get(debtor=debtor, summary__startswith="Betalingsregeling")
    assert event.summary == (
        "Betalingsregeling aangevraagd: €\xa0100,00 in 5 termijnen; ter beoordeling, want een termijnbedrag "
        "van €\xa020,00 is minder dan het minimum van €\xa025,00"
    )
    assert summary_in_language(event.summary, event.data, "en") == (
        "Payment plan requested: €100.00 in 5 instalments; waiting for approval because an instalment of "
        "€20.00 is less than the minimum of €25.00"
    )
    page = client.get(reverse("portal:plan", kwargs={"debtor_id": debtor.pk})).content.decode()
    assert "Reden: een termijnbedrag van €\xa020,00 is minder dan het minimum van €\xa025,00." in page


def test_too_many_terms_reason_named(debtor):
    invoice = make_invoice(debtor, "F-001", "900.00")
    PortalSettings.objects.create(creditor=debtor.creditor, max_plan_terms=6)

    plan = plans.do_request_plan(debtor, [invoice], 9, today=timezone.localdate())

    assert plan.outside_limits_reason == "9 termijnen is meer dan het maximum van 6"
    assert phrase_in_language(plan.outside_limits_reason, "en") == "9 instalments is more than the maximum of 6"


def test_plan_names_both_broken_limits(client, debtor):
    invoice = make_invoice(debtor, "F-001", "266.76")
    PortalSettings.objects.create(creditor=debtor.creditor, max_plan_terms=6, min_instalment=Decimal("25.00"))
    url = reverse("portal:plan", kwargs={"debtor_id": debtor.pk})

    preview = client.post(url, {**plan_form_data(debtor, [invoice], 36), "preview": "1"}).content.decode()
    client.post(url, plan_form_data(debtor, [invoice], 36))

    both = (
        "36 termijnen is meer dan het maximum van 6 en een termijnbedrag van €\xa07,41 is minder dan "
        "het minimum van €\xa025,00"
    )
    plan = PaymentPlan.objects.get()
    assert plan.outside_limits_reason == both
    assert phrase_in_language(plan.outside_limits_reason, "en") == (
        "36 instalments is more than the maximum of 6, and an instalment of €7.41 is less than the minimum of €25.00"
    )
    notice = re.search(r'<p class="notice">(.*?)</p>', preview, re.DOTALL).group(1)
    assert f"Reden: {both}." in notice
    assert notice.count("medewerker") == 1
    event = TimelineEvent.objects.get(debtor=debtor, summary__startswith="Betalingsregeling")
    assert summary_in_language(event.summary, event.data, "en") == (
        "Payment plan requested: €266.76 in 36 instalments; waiting for approval because 36 instalments is more "
        "than the maximum of 6, and an instalment of €7.41 is less than the minimum of €25.00"
    )


def test_stored_legacy_reason_still_translated():
    stored = "9 termijnen is meer dan het maximum van 6 termijnen, dus een medewerker moet de regeling goedkeuren"

    assert phrase_in_language(stored, "en") == (
        "9 instalments is more than the maximum of 6 instalments, so a credit manager has to approve the plan"
    )


def test_admin_shows_reason_in_english(admin_client, debtor):
    invoice = make_invoice(debtor, "F-001", "100.00")
    PortalSettings.objects.create(creditor=debtor.creditor, min_instalment=Decimal("25.00"))
    plans.do_request_plan(debtor, [invoice], 5, today=timezone.localdate())

    page = admin_client.get(reverse("admin:payments_paymentplan_changelist"), HTTP_ACCEPT_LANGUAGE="en")

    text = page.content.decode().replace("\xa0", " ")
    assert "an instalment of €20.00 is less than the minimum of €25.00" in text
    assert "termijnbedrag" not in text


def test_instalment_paid_online(client, debtor):
    invoice = make_invoice(debtor, "F-001", "300.00")
    client.post(reverse("portal:plan", kwargs={"debtor_id": debtor.pk}), plan_form_data(debtor, [invoice], 3))

    start = client.post(reverse("portal:plan_pay", kwargs={"debtor_id": debtor.pk}))
    checkout = CheckoutPayment.objects.get()
    client.post(start["Location"], {"outcome": "paid"})

    assert checkout.amount == Decimal("100.00")
    invoice.refresh_from_db()
    assert invoice.open_amount == Decimal("200.00")
    assert invoice.status == InvoiceStatus.PAYMENT_PLAN
    states = plans.instalment_states(PaymentPlan.objects.get())
    assert [state.paid for state in states] == [True, False, False]


def test_missed_instalment_revives_dunning(debtor):
    invoice = make_invoice(debtor, "F-001", "300.00")
    today = timezone.localdate()
    plan = plans.do_request_plan(debtor, [invoice], 3, today=today)

    summary = plans.check_plans(debtor.creditor_id, today + dt.timedelta(days=8))

    assert summary.broken == 1
    plan.refresh_from_db()
    invoice.refresh_from_db()
    assert plan.status == PlanStatus.BROKEN
    assert invoice.status == InvoiceStatus.OPEN


def test_instalment_reminders_due_soon(debtor):
    invoice = make_invoice(debtor, "F-001", "300.00")
    today = timezone.localdate()
    plans.do_request_plan(debtor, [invoice], 3, today=today)

    due = plans.instalments_to_remind(debtor.creditor_id, today)

    assert [state.instalment.number for state in due] == [1]


def test_schedule_puts_cents_on_last_term():
    result = plans.schedule(Decimal("100.00"), 3, first_now=False, today=dt.date(2026, 1, 31))

    assert [amount for _day, amount in result] == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
    assert [day for day, _amount in result] == [dt.date(2026, 2, 28), dt.date(2026, 3, 31), dt.date(2026, 4, 30)]


def test_preferences_change_goes_on_timeline(client, debtor):
    response = client.post(
        reverse("portal:preferences", kwargs={"debtor_id": debtor.pk}),
        {"email": "nieuw@example.nl", "mobile": "+31687654321", "language": "en",
         "preferred_channel": "sms", "opted_out_channels": ["letter"]},
    )

    assert response.status_code == 302
    debtor.refresh_from_db()
    assert debtor.email == "nieuw@example.nl"
    assert debtor.language == "en"
    assert debtor.opted_out_channels == ["letter"]
    event = TimelineEvent.objects.get(debtor=debtor, kind=TimelineKind.PREFERENCE)
    assert set(event.data["changes"]) == {"email", "mobile", "language", "preferred_channel", "opted_out_channels"}
    assert "nieuw@example.nl" not in str(event.data)


def test_preferences_reject_bad_mobile(client, debtor):
    response = client.post(
        reverse("portal:preferences", kwargs={"debtor_id": debtor.pk}),
        {"email": "", "mobile": "0612", "language": "nl", "preferred_channel": ""},
    )

    assert response.status_code == 200
    debtor.refresh_from_db()
    assert debtor.mobile == "+31612345678"


@pytest.mark.parametrize("typed", ["0687654321", "+31 6 8765 4321", "06-87654321"])
def test_preferences_accept_national_mobile(client, debtor, typed: str):
    response = client.post(
        reverse("portal:preferences", kwargs={"debtor_id": debtor.pk}),
        {"email": "", "mobile": typed, "language": "nl", "preferred_channel": ""},
    )

    assert response.status_code == 302
    debtor.refresh_from_db()
    assert debtor.mobile == "+31687654321"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0201234567", "Dit is geen mobiel nummer, dus een sms of WhatsApp komt niet aan."),
        ("+31201234567", "Dit is geen mobiel nummer, dus een sms of WhatsApp komt niet aan."),
        ("06123", "Vul een mobiel nummer in zoals 06 12345678."),
        ("bel mij", "Vul een mobiel nummer in zoals 06 12345678."),
    ],
)
def test_preferences_reject_landline_and_invalid(client, debtor, typed: str, message: str):
    response = client.post(
        reverse("portal:preferences", kwargs={"debtor_id": debtor.pk}),
        {"email": "", "mobile": typed, "language": "nl", "preferred_channel": ""},
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    debtor.refresh_from_db()
    assert debtor.mobile == "+31612345678"


def test_statement_and_invoice_pdfs(client, debtor):
    invoice = make_invoice(debtor, "F-001", "80.00")

    statement = client.get(reverse("portal:statement_pdf", kwargs={"debtor_id": debtor.pk}))
    copy = client.get(reverse("portal:invoice_pdf", kwargs={"invoice_id": invoice.pk}))

    assert statement["Content-Type"] == "application/pdf"
    assert statement.content.startswith(b"%PDF-")
    assert copy.content.startswith(b"%PDF-")
    import pypdfium2

    text = pypdfium2.PdfDocument(statement.content)[0].get_textpage().get_text_range()
    assert "F-001" in text
    assert "80,00" in text


def test_overdue_invoice_shows_and_charges_interest(client, debtor):
    # Interest shows once the invoice reached a stage that states the claim.
    invoice = give_claim_stage(make_invoice(debtor, "F-001", "1000.00", days_overdue=120))

    page = client.get(reverse("portal:overview")).content.decode()
    account = services.load_accounts([debtor.pk], timezone.localdate())[0]
    client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [invoice.pk]})

    interest = account.open_lines[0].interest
    assert interest > Decimal("0.00")
    assert "Wettelijke rente" in page
    checkout = CheckoutPayment.objects.get()
    assert checkout.amount == Decimal("1000.00") + interest + account.costs


def test_friendly_stage_invoice_shows_no_interest(client, debtor):
    give_claim_stage(make_invoice(debtor, "F-001", "1000.00", days_overdue=20), "reminder")

    account = services.load_accounts([debtor.pk], timezone.localdate())[0]

    assert account.interest == Decimal("0.00")
    assert account.costs == Decimal("0.00")
    assert account.total_due == Decimal("1000.00")


def test_handed_over_invoice_shows_full_claim(client, debtor):
    import pypdfium2

    from betaalreis.ledger.money import format_money
    from betaalreis.legal.ledger_claims import claim_for_debtor

    debtor.kind = "business"
    debtor.save(update_fields=["kind"])
    make_invoice(debtor, "F-001", "500.00", days_overdue=90, status=InvoiceStatus.HANDED_OVER)
    today = timezone.localdate()

    account = services.load_accounts([debtor.pk], today)[0]
    page = client.get(reverse("portal:overview")).content.decode()
    statement = client.get(reverse("portal:statement_pdf", kwargs={"debtor_id": debtor.pk}))

    claim = claim_for_debtor(debtor, today)
    assert claim is not None
    assert claim.interest > Decimal("0.00")
    assert claim.costs.outstanding > Decimal("0.00")
    assert account.interest == claim.interest_outstanding
    assert account.costs == claim.costs.outstanding
    assert account.total_due == claim.total_outstanding
    assert format_money(claim.total_outstanding, "EUR") in page
    text = pypdfium2.PdfDocument(statement.content)[0].get_textpage().get_text_range()
    assert format_money(account.interest, "EUR").replace("\xa0", " ") in text.replace("\xa0", " ")


def test_costs_charged_per_invoice_share(debtor):
    first = make_invoice(debtor, "F-001", "1000.00", days_overdue=120)
    second = make_invoice(debtor, "F-002", "500.00", days_overdue=90)
    account = services.load_accounts([debtor.pk], timezone.localdate())[0]
    # The claim's costs of EUR 40 over both invoices, shared 1000 : 500.
    shares = {first.pk: Decimal("26.67"), second.pk: Decimal("13.33")}
    for line in account.open_lines:
        line.costs = shares[line.invoice.pk]
    interest = {line.invoice.pk: line.interest for line in account.open_lines}

    only_first = services.amount_to_charge(account, {first.pk})
    both = services.amount_to_charge(account, {first.pk, second.pk})

    assert only_first == Decimal("1026.67") + interest[first.pk]
    assert both == Decimal("1540.00") + interest[first.pk] + interest[second.pk]


def test_portal_check_command_breaks_lapsed(debtor):
    from io import StringIO

    from django.core.management import call_command

    invoice = make_invoice(debtor, "F-001", "300.00")
    today = timezone.localdate()
    plans.do_request_plan(debtor, [invoice], 3, today=today)
    output = StringIO()

    call_command("portal_check", "--day", (today + dt.timedelta(days=30)).isoformat(), stdout=output)

    assert "betalingsregelingen afgerond 0, verbroken 1" in output.getvalue()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN


@pytest.mark.parametrize(
    ("argv", "setting", "expected", "absent"),
    [
        ([], "nl", "acme: betaalbeloften nagekomen 0, gebroken 1; betalingsregelingen afgerond 0, verbroken 1",
         "promises"),
        (["--lang", "en"], "nl", "acme: promises kept 0, broken 1; plans completed 0, broken 1", "betaalbeloften"),
        ([], "en", "acme: promises kept 0, broken 1; plans completed 0, broken 1", "betaalbeloften"),
        (["--lang", "nl"], "en",
         "acme: betaalbeloften nagekomen 0, gebroken 1; betalingsregelingen afgerond 0, verbroken 1", "promises"),
    ],
)
def test_portal_check_lines_in_language(debtor, settings, argv, setting, expected, absent):
    from io import StringIO

    from django.core.management import call_command

    settings.BETAALREIS_LANGUAGE = setting
    today = timezone.localdate()
    first = make_invoice(debtor, "F-001", "300.00")
    # An invoice outside the plan stays open past the promised date, so the promise is broken.
    make_invoice(debtor, "F-002", "80.00")
    plans.do_request_plan(debtor, [first], 3, today=today)
    services.do_make_promise(debtor, today + dt.timedelta(days=3), today=today)
    output = StringIO()

    call_command("portal_check", "--day", (today + dt.timedelta(days=30)).isoformat(), *argv, stdout=output)

    lines = output.getvalue().splitlines()
    assert lines == [expected]
    assert absent not in output.getvalue()


def test_admin_pages_load(admin_client, debtor):
    invoice = make_invoice(debtor, "F-001", "100.00")
    plans.do_request_plan(debtor, [invoice], 2, today=timezone.localdate())
    services.do_open_dispute(debtor, make_invoice(debtor, "F-002", "10.00"), reason="question", message="?")

    for url in ["/admin/payments/paymentplan/", "/admin/payments/checkoutpayment/", "/admin/payments/webhookevent/",
                "/admin/portal/dispute/", "/admin/portal/promise/", "/admin/portal/portalsettings/",
                f"/admin/payments/paymentplan/{PaymentPlan.objects.get().pk}/change/"]:
        assert admin_client.get(url).status_code == 200, url


def test_pdfs_draw_names_in_letter_font(client, debtor):
    debtor.name = "Łukasz Ğül <b>&"
    debtor.save()
    invoice = make_invoice(debtor, "F-002", "80.00")

    statement = client.get(reverse("portal:statement_pdf", kwargs={"debtor_id": debtor.pk}))
    copy = client.get(reverse("portal:invoice_pdf", kwargs={"invoice_id": invoice.pk}))

    import pypdfium2

    for pdf in (statement.content, copy.content):
        text = pypdfium2.PdfDocument(pdf)[0].get_textpage().get_text_range()
        assert "Łukasz Ğül <b>&" in text


def test_preferences_reject_opted_out_preferred(client, debtor):
    from django.utils import translation

    from betaalreis.portal.forms import PreferencesForm

    response = client.post(
        reverse("portal:preferences", kwargs={"debtor_id": debtor.pk}),
        {"email": "", "mobile": "+31612345678", "language": "nl", "preferred_channel": "whatsapp",
         "opted_out_channels": ["whatsapp", "sms"]},
    )

    assert response.status_code == 200
    assert "U hebt zich voor dit kanaal afgemeld" in response.content.decode()
    debtor.refresh_from_db()
    assert debtor.opted_out_channels == []
    assert debtor.email != ""
    with translation.override("en"):
        form = PreferencesForm({"language": "en", "preferred_channel": "sms", "opted_out_channels": ["sms"]})
        assert not form.is_valid()
        assert form.errors["preferred_channel"] == [
            "You have opted out of this channel. Choose another preferred channel or no preference."
        ]


def test_preferences_every_channel_opted_out(client, debtor):
    everything = ["email", "sms", "whatsapp", "letter", "phone"]

    response = client.post(
        reverse("portal:preferences", kwargs={"debtor_id": debtor.pk}),
        {"email": "", "mobile": "+31612345678", "language": "nl", "preferred_channel": "",
         "opted_out_channels": everything},
        follow=True,
    )

    assert response.status_code == 200
    assert "U hebt zich voor alle kanalen afgemeld" in response.content.decode()
    debtor.refresh_from_db()
    assert sorted(debtor.opted_out_channels) == sorted(everything)
    changed, flagged = TimelineEvent.objects.filter(debtor=debtor, kind=TimelineKind.PREFERENCE).order_by("id")
    assert "e-mailadres " in changed.summary
    assert "→ (leeg)" in changed.summary
    assert "afgemelde kanalen (leeg) → email, letter, phone, sms, whatsapp" in changed.summary
    assert flagged.summary.startswith("Let op: afgemeld voor alle kanalen")
    assert flagged.data["opted_out_of_every_channel"] is True


def test_plan_states_interest_and_costs_left_out(client):
    # A business owes collection costs (the scale's minimum of EUR 40 here) and
    # commercial interest from the day after the due date, without a 14-day letter.
    debtor = make_debtor(make_creditor(), kind="business")
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))
    invoice = give_claim_stage(make_invoice(debtor, "F-001", "60.50", days_overdue=30))
    (account,) = services.load_accounts([debtor.pk], timezone.localdate())
    assert account.costs == Decimal("40.00")
    assert account.interest > 0
    url = reverse("portal:plan", kwargs={"debtor_id": debtor.pk})

    form_page = client.get(url).content.decode().replace("\xa0", " ")
    client.post(url, plan_form_data(debtor, [invoice], 3))

    plan = PaymentPlan.objects.get()
    assert plan.total == Decimal("60.50")
    assert plan.interest_excluded == account.interest
    assert plan.costs_excluded == account.costs
    interest_text = f"€ {account.interest}".replace(".", ",")
    assert f"De nog onbetaalde rente van {interest_text} en de incassokosten van € 40,00 vallen er niet onder." in form_page
    status_page = client.get(url).content.decode().replace("\xa0", " ")
    assert f"De nog onbetaalde rente van {interest_text} en de incassokosten van € 40,00 vallen er niet onder." in status_page
    assert "Betaalt u alle termijnen op tijd, dan schelden wij dat kwijt." in status_page
    request_line = TimelineEvent.objects.get(debtor=debtor, data__plan_id=plan.pk, data__channel="portal")
    assert request_line.data["costs_excluded"] == "40.00"
    assert "vervallen als de regeling wordt nagekomen" in request_line.summary


def test_plan_page_in_english_states_waiver(client):
    debtor = make_debtor(make_creditor(), kind="business", language="en")
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))
    invoice = give_claim_stage(make_invoice(debtor, "F-001", "60.50", days_overdue=30))
    url = reverse("portal:plan", kwargs={"debtor_id": debtor.pk})

    client.post(url, plan_form_data(debtor, [invoice], 3))
    page = client.get(url).content.decode()

    assert "If you pay every instalment on time, we waive it." in page
    assert "the collection costs of €40.00 are not part of it." in page.replace("\xa0", " ")


def test_completed_plan_records_waiver(client, debtor):
    invoice = give_claim_stage(make_invoice(debtor, "F-001", "300.00", days_overdue=30))
    today = timezone.localdate()
    plan = plans.do_request_plan(debtor, [invoice], 1, today=today)
    assert plan.interest_excluded > 0
    # A consumer without a 14-day letter owes no costs, so the page names interest only.
    page = client.get(reverse("portal:plan", kwargs={"debtor_id": debtor.pk})).content.decode()
    assert "valt er niet onder." in page
    assert "incassokosten van" not in page
    Invoice.objects.filter(pk=invoice.pk).update(open_amount=Decimal("0.00"), status=InvoiceStatus.PAID)

    summary = plans.check_plans(debtor.creditor_id, today)

    assert summary.completed == 1
    line = TimelineEvent.objects.get(debtor=debtor, data__status=PlanStatus.COMPLETED)
    assert line.data["waived_interest"] == str(plan.interest_excluded)
    assert "kwijtgescholden" in line.summary


@pytest.mark.parametrize(
    ("old", "new", "confirmation", "other"),
    [
        ("en", "nl", "Uw voorkeuren zijn opgeslagen.", "Your preferences have been saved."),
        ("nl", "en", "Your preferences have been saved.", "Uw voorkeuren zijn opgeslagen."),
    ],
)
def test_preferences_confirmed_in_new_language(client, old: str, new: str, confirmation: str, other: str):
    debtor = make_debtor(make_creditor(), language=old)
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))

    response = client.post(
        reverse("portal:preferences", kwargs={"debtor_id": debtor.pk}),
        {"email": debtor.email, "mobile": debtor.mobile, "language": new, "preferred_channel": "",
         "opted_out_channels": ["email", "sms", "whatsapp", "letter", "phone"]},
        follow=True,
    )

    page = response.content.decode()
    assert confirmation in page
    assert other not in page
    opted_out = {"nl": "U hebt zich voor alle kanalen afgemeld.", "en": "You have opted out of every channel."}
    assert opted_out[new] in page
    assert opted_out[old] not in page
