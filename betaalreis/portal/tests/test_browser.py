"""The portal in Debian's chromium: a debtor's paths from link to paid, plan, promise, dispute, preferences.

Each test drives a real browser against pytest-django's live server and
saves screenshots at phone (390 px) and desktop (1280 px) width to a
temporary folder, or to docs/screenshots/ when BETAALREIS_REFRESH_SCREENSHOTS=1
(`make screenshots`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from betaalreis.dunning.policies import seed_default_policies
from betaalreis.dunning.run import run_cycle
from betaalreis.ledger.models import InvoiceStatus, TimelineEvent, TimelineKind
from betaalreis.ledger.money import format_money
from betaalreis.legal.contact import is_contact_day
from betaalreis.outbox.models import Communication
from betaalreis.payments.models import CheckoutPayment, PaymentPlan, PlanStatus
from betaalreis.payments.plans import do_request_plan
from betaalreis.portal.links import make_portal_token
from betaalreis.portal.models import Dispute, DisputeReason, Promise
from betaalreis.portal.services import do_open_dispute, load_accounts
from betaalreis.portal.tests.factories import give_claim_stage, make_creditor, make_debtor, make_invoice
from betaalreis.testing import launch_chromium, screenshot_folder

# Playwright's sync API runs an event loop in this thread; the ORM calls in
# these tests are still plain synchronous calls between browser steps.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Set for each module by `_screenshots`, before any test of it runs.
SCREENSHOTS = Path()
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with launch_chromium() as browser:
        yield browser


@pytest.fixture(scope="module", autouse=True)
def _screenshots(tmp_path_factory) -> None:
    global SCREENSHOTS
    SCREENSHOTS = screenshot_folder(tmp_path_factory.mktemp("screenshots"))


@pytest.fixture
def page(browser, settings, live_server):
    settings.BETAALREIS_BASE_URL = live_server.url
    context = browser.new_context(viewport=PHONE, locale="nl-NL")
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    yield page
    context.close()
    assert not [error for error in console_errors if "Content Security Policy" in error], console_errors


def shoot(page, name: str) -> None:
    """Save the current page at phone and desktop width, then return to phone width."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("390", PHONE), ("1280", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=str(SCREENSHOTS / f"portal-{name}-{label}.png"), full_page=True)
    page.set_viewport_size(PHONE)


def open_link(page, live_server, debtor) -> None:
    page.goto(f"{live_server.url}/p/{make_portal_token(debtor)}/")
    page.wait_for_url(re.compile(r".*/portal/$"))


@pytest.fixture
def creditor():
    return make_creditor("zonnepaneel", legal_name="Zonnepaneel Service B.V.", trade_name="Zonnepaneel Service",
                         brand_color="#f2a900", phone="+31301234567")


def test_email_link_pay_then_no_reminder(page, live_server, creditor, captured_messages):
    seed_default_policies(creditor)
    debtor = make_debtor(creditor, "Z-1001", name="Fatima el Amrani", email="fatima@example.nl")
    first = make_invoice(debtor, "ZS-2026-0412", "249.00", days_overdue=4)
    second = make_invoice(debtor, "ZS-2026-0455", "89.50", days_overdue=3)
    # A run for a day other than today acts at 09:00, inside contact hours,
    # and the first contact day from tomorrow on is no Sunday or holiday, so
    # its email goes out whatever the time and date of this test.
    run_day = timezone.localdate() + dt.timedelta(days=1)
    while not is_contact_day(run_day):
        run_day += dt.timedelta(days=1)

    run_cycle(run_day, creditor)
    sent = Communication.objects.filter(debtor=debtor)
    assert sent.exists()
    emails = [message for message in captured_messages if message.debtor_id == debtor.pk]
    assert emails, "the run handed no email to the email channel"
    link = re.search(r"https?://\S+/p/[^\s/]+/", emails[-1].text).group(0)
    assert link.startswith(live_server.url)

    page.goto(link)
    page.wait_for_url(re.compile(r".*/portal/$"))
    assert page.get_by_text("Factuur ZS-2026-0412", exact=True).is_visible()
    shoot(page, "overview")

    page.get_by_role("button", name="Betaal de gekozen facturen").click()
    page.wait_for_url(re.compile(r".*/test-checkout/.*"))
    shoot(page, "test-checkout")
    page.get_by_role("button", name="Betalen", exact=True).click()
    page.wait_for_url(re.compile(r".*/portal/payments/.*"))
    assert page.get_by_role("heading", name="Dank u, uw betaling is ontvangen").is_visible()
    shoot(page, "paid")

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == InvoiceStatus.PAID
    assert second.status == InvoiceStatus.PAID
    before = sent.count()
    run_cycle(run_day + dt.timedelta(days=1), creditor)
    run_cycle(run_day + dt.timedelta(days=20), creditor)
    assert Communication.objects.filter(debtor=debtor).count() == before

    page.goto(f"{live_server.url}/portal/")
    assert page.get_by_text("U heeft geen openstaande facturen").is_visible()


def test_payment_plan_in_browser(page, live_server, creditor):
    debtor = make_debtor(creditor, "Z-1002", name="Kees Bakker")
    make_invoice(debtor, "ZS-2026-0501", "450.00", days_overdue=10)
    open_link(page, live_server, debtor)

    page.get_by_role("link", name="Betalen in termijnen").click()
    shoot(page, "plan-form")
    page.get_by_label("Aantal termijnen").fill("3")
    page.get_by_role("button", name="Regeling aanvragen").click()
    page.wait_for_url(re.compile(r".*/plan/$"))
    assert page.get_by_text("Uw regeling is goedgekeurd").is_visible()
    shoot(page, "plan-schedule")

    plan = PaymentPlan.objects.get(debtor=debtor)
    assert plan.status == PlanStatus.ACTIVE
    assert plan.instalments.count() == 3


def test_plan_invoice_outside_total_in_browser(page, live_server, creditor):
    debtor = make_debtor(creditor, "Z-1006", name="Sanne de Jong")
    make_invoice(debtor, "ZS-2026-0801", "120.00", days_overdue=2)
    in_plan = make_invoice(debtor, "ZS-2026-0802", "300.00", days_overdue=12)
    do_request_plan(debtor, [in_plan], 3, today=timezone.localdate())
    open_link(page, live_server, debtor)

    assert page.locator("input[name=invoices]").count() == 1
    assert page.get_by_label("Factuur ZS-2026-0801").is_checked()
    assert page.locator(".total").inner_text().replace("\xa0", " ") == "Totaal te betalen: € 120,00"
    assert page.get_by_text("Facturen in uw betalingsregeling tellen niet mee in dit totaal").is_visible()
    assert page.get_by_text("U betaalt deze factuur met de termijnen van uw betalingsregeling").is_visible()
    shoot(page, "overview-plan")

    page.get_by_role("button", name="Betaal de gekozen facturen").click()
    page.wait_for_url(re.compile(r".*/test-checkout/.*"))
    assert PaymentPlan.objects.get(debtor=debtor).payments.count() == 0
    assert [invoice.number for invoice in CheckoutPayment.objects.get().invoices.all()] == ["ZS-2026-0801"]


def test_disputed_invoice_unticked_in_browser(page, live_server, creditor):
    debtor = make_debtor(creditor, "Z-1007", name="Joost Mulder")
    make_invoice(debtor, "ZS-2026-0901", "120.00", days_overdue=2)
    contested = make_invoice(debtor, "ZS-2026-0902", "60.00", days_overdue=2)
    do_open_dispute(debtor, contested, reason=DisputeReason.WRONG_AMOUNT, message="Twee keer gefactureerd.")
    open_link(page, live_server, debtor)

    assert page.get_by_label("Factuur ZS-2026-0901").is_checked()
    assert not page.get_by_label("Factuur ZS-2026-0902").is_checked()
    assert page.locator(".total").inner_text().replace("\xa0", " ") == "Totaal te betalen: € 120,00"
    assert page.get_by_text("Betwiste facturen zijn niet aangevinkt, dus ze tellen niet mee in het totaal.").is_visible()
    shoot(page, "overview-disputed")

    page.get_by_role("button", name="Betaal de gekozen facturen").click()
    page.wait_for_url(re.compile(r".*/test-checkout/.*"))
    checkout = CheckoutPayment.objects.get()
    assert checkout.amount == Decimal("120.00")
    assert [invoice.number for invoice in checkout.invoices.all()] == ["ZS-2026-0901"]


def test_plan_text_follows_selection_in_browser(page, live_server, creditor):
    debtor = make_debtor(creditor, "Z-1008", name="Eva Smit")
    make_invoice(debtor, "ZS-2026-1001", "300.00", days_overdue=10)
    make_invoice(debtor, "ZS-2026-1002", "150.00", days_overdue=5)
    open_link(page, live_server, debtor)
    page.get_by_role("link", name="Betalen in termijnen").click()
    assert page.get_by_text("€ 450,00 in 3 termijnen").is_visible()

    # The text was computed for both invoices, so a request for one shows that plan's text first.
    page.get_by_label("Factuur ZS-2026-1001").uncheck()
    page.get_by_role("button", name="Regeling aanvragen").click()
    assert page.get_by_text("De regeling hieronder is berekend voor de facturen en termijnen die u nu koos.").is_visible()
    assert page.get_by_text("€ 150,00 in 3 termijnen").is_visible()
    assert page.get_by_text("Voor factuur ZS-2026-1002.").is_visible()
    assert not PaymentPlan.objects.exists()
    shoot(page, "plan-checked")

    page.get_by_role("button", name="Regeling aanvragen").click()
    page.wait_for_url(re.compile(r".*/plan/$"))
    assert page.get_by_text("Uw regeling is goedgekeurd").is_visible()
    plan = PaymentPlan.objects.get(debtor=debtor)
    assert plan.total == Decimal("150.00")
    assert [invoice.number for invoice in plan.invoices.all()] == ["ZS-2026-1002"]


def test_promise_in_browser(page, live_server, creditor):
    debtor = make_debtor(creditor, "Z-1003", name="Anna Visser")
    make_invoice(debtor, "ZS-2026-0602", "120.00", days_overdue=8)
    open_link(page, live_server, debtor)
    promised = timezone.localdate() + dt.timedelta(days=7)

    page.get_by_role("link", name="Later betalen (betaalbelofte)").click()
    page.get_by_label("Ik betaal uiterlijk op").fill(promised.isoformat())
    shoot(page, "promise")
    page.get_by_role("button", name="Belofte vastleggen").click()
    page.wait_for_url(re.compile(r".*/portal/$"))
    assert page.get_by_text("Tot de gekozen datum sturen we geen herinneringen").is_visible()

    assert Promise.objects.get(debtor=debtor).promised_date == promised


def test_dispute_in_browser(page, live_server, creditor, tmp_path):
    debtor = make_debtor(creditor, "Z-1004", name="Ruben de Graaf")
    invoice = make_invoice(debtor, "ZS-2026-0703", "75.00", days_overdue=12)
    receipt = tmp_path / "bon.pdf"
    receipt.write_bytes(b"%PDF-1.4\n% test receipt\n")
    open_link(page, live_server, debtor)

    page.get_by_role("link", name="Vraag of geschil over factuur ZS-2026-0703").click()
    page.get_by_label("Reden").select_option("wrong_amount")
    page.get_by_label("Toelichting").fill("Er staan twee onderhoudsbeurten op, ik had er één.")
    page.get_by_label("Bijlage (PDF, PNG of JPEG, maximaal 5 MB)").set_input_files(str(receipt))
    shoot(page, "dispute")
    page.get_by_role("button", name="Versturen").click()
    page.wait_for_url(re.compile(r".*/portal/$"))
    assert page.get_by_text("Vraag of geschil in behandeling").is_visible()

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.DISPUTED
    assert Dispute.objects.get(invoice=invoice).attachment


def test_preferences_in_browser(page, live_server, creditor):
    debtor = make_debtor(creditor, "Z-1005", name="Lotte Jansen")
    make_invoice(debtor, "ZS-2026-0804", "60.00", days_overdue=2)
    open_link(page, live_server, debtor)

    page.get_by_role("link", name="Contactvoorkeuren").click()
    page.get_by_label("Mobiel nummer").fill("+31687654321")
    page.get_by_label("Voorkeurskanaal").select_option("sms")
    page.get_by_label("Brief").check()
    page.get_by_label("Taal").select_option("en")
    shoot(page, "preferences")
    page.get_by_role("button", name="Opslaan").click()
    page.wait_for_url(re.compile(r".*/portal/$"))
    assert page.get_by_role("heading", name="My invoices").is_visible()
    shoot(page, "overview-en")

    debtor.refresh_from_db()
    assert debtor.mobile == "+31687654321"
    assert debtor.preferred_channel == "sms"
    assert debtor.opted_out_channels == ["letter"]
    assert TimelineEvent.objects.filter(debtor=debtor, kind=TimelineKind.PREFERENCE).count() == 1


def test_keyboard_reaches_pay_button(page, live_server, creditor):
    debtor = make_debtor(creditor, "Z-1006")
    make_invoice(debtor, "ZS-2026-0905", "33.00", days_overdue=5)
    open_link(page, live_server, debtor)

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent").strip() == "Betaal de gekozen facturen":
            break
    else:
        pytest.fail("The pay button is not reachable with Tab.")
    assert page.locator("main").get_attribute("id") == "main"
    assert page.locator("nav").count() >= 1
    assert Decimal("33.00") == debtor.invoices.get().open_amount


def total_text(page) -> str:
    return page.locator(".total").inner_text().replace("\xa0", " ")


def shown_money(amount: Decimal, language: str = "nl") -> str:
    return format_money(amount, "EUR", language).replace("\xa0", " ")


def line_of(account, invoice):
    (line,) = [line for line in account.open_lines if line.invoice.pk == invoice.pk]
    return line


def test_total_follows_unticked_invoice_in_browser(page, live_server, creditor):
    debtor = make_debtor(creditor, "Z-1009", name="Lotte Visser", kind="business")
    charged = give_claim_stage(make_invoice(debtor, "ZS-2026-1101", "88.06", days_overdue=60))
    plain = make_invoice(debtor, "ZS-2026-1102", "62.00", days_overdue=-3)
    (account,) = load_accounts([debtor.pk], timezone.localdate())
    assert account.costs > Decimal("0.00")
    # The plain invoice carries no costs, so the charged one carries all of them.
    assert line_of(account, charged).costs == account.costs
    charged_amount = line_of(account, charged).amount_due
    open_link(page, live_server, debtor)

    assert page.locator(".total").get_attribute("aria-live") == "polite"
    assert total_text(page) == f"Totaal te betalen: {shown_money(charged_amount + plain.open_amount)}"
    page.get_by_label("Factuur ZS-2026-1102").uncheck()
    assert total_text(page) == f"Totaal te betalen: {shown_money(charged_amount)}"
    assert page.locator("dt.costs-part").is_visible()

    page.get_by_role("button", name="Betaal de gekozen facturen").click()
    page.wait_for_url(re.compile(r".*/test-checkout/.*"))
    checkout = CheckoutPayment.objects.get()
    assert checkout.amount == charged_amount
    assert [invoice.number for invoice in checkout.invoices.all()] == ["ZS-2026-1101"]


def test_total_follows_ticks_in_english_in_browser(page, live_server, creditor):
    debtor = make_debtor(creditor, "Z-1010", name="Tom Bos")
    make_invoice(debtor, "ZS-2026-1201", "1250.00", days_overdue=-3)
    make_invoice(debtor, "ZS-2026-1202", "80.50", days_overdue=-3)
    open_link(page, live_server, debtor)
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()

    assert total_text(page) == f"Total due: {shown_money(Decimal('1330.50'), 'en')}"
    page.get_by_label("Invoice ZS-2026-1202").uncheck()
    assert total_text(page) == f"Total due: {shown_money(Decimal('1250.00'), 'en')}"
    page.get_by_label("Invoice ZS-2026-1201").uncheck()
    assert total_text(page) == f"Total due: {shown_money(Decimal('0.00'), 'en')}"


def test_ticked_disputed_invoice_in_total_in_browser(page, live_server, creditor):
    debtor = make_debtor(creditor, "Z-1011", name="Noor Peters", kind="business")
    kept = give_claim_stage(make_invoice(debtor, "ZS-2026-1301", "300.00", days_overdue=60))
    contested = give_claim_stage(make_invoice(debtor, "ZS-2026-1302", "200.00", days_overdue=60))
    do_open_dispute(debtor, contested, reason=DisputeReason.WRONG_AMOUNT, message="Niet geleverd.")
    (account,) = load_accounts([debtor.pk], timezone.localdate())
    kept_due = line_of(account, kept).amount_due
    contested_due = line_of(account, contested).amount_due
    kept_costs = line_of(account, kept).costs
    contested_costs = line_of(account, contested).costs
    assert line_of(account, contested).interest > Decimal("0.00")
    assert kept_costs > Decimal("0.00")
    assert contested_costs > Decimal("0.00")
    open_link(page, live_server, debtor)
    costs = page.locator('[data-total-part="costs"]')

    assert total_text(page) == f"Totaal te betalen: {shown_money(kept_due)}"
    assert costs.inner_text().replace("\xa0", " ") == shown_money(kept_costs)
    page.get_by_label("Factuur ZS-2026-1302").check()
    assert total_text(page) == f"Totaal te betalen: {shown_money(kept_due + contested_due)}"
    assert costs.inner_text().replace("\xa0", " ") == shown_money(kept_costs + contested_costs)
    page.get_by_label("Factuur ZS-2026-1301").uncheck()
    assert total_text(page) == f"Totaal te betalen: {shown_money(contested_due)}"
    assert costs.inner_text().replace("\xa0", " ") == shown_money(contested_costs)

    page.get_by_role("button", name="Betaal de gekozen facturen").click()
    page.wait_for_url(re.compile(r".*/test-checkout/.*"))
    assert CheckoutPayment.objects.get().amount == contested_due


def test_total_without_script_in_browser(browser, live_server, settings, creditor):
    settings.BETAALREIS_BASE_URL = live_server.url
    debtor = make_debtor(creditor, "Z-1012", name="Bram de Wit")
    make_invoice(debtor, "ZS-2026-1401", "120.00", days_overdue=-3)
    make_invoice(debtor, "ZS-2026-1402", "30.00", days_overdue=-3)
    context = browser.new_context(viewport=PHONE, locale="nl-NL", java_script_enabled=False)
    page = context.new_page()
    try:
        open_link(page, live_server, debtor)
        page.get_by_label("Factuur ZS-2026-1402").uncheck()

        assert total_text(page) == "Totaal te betalen: € 150,00"
        assert page.get_by_text("Dit totaal geldt voor de facturen die wij aanvinkten.").is_visible()
    finally:
        context.close()


def test_note_without_script_hidden_in_browser(page, live_server, creditor):
    debtor = make_debtor(creditor, "Z-1013", name="Iris Kok")
    make_invoice(debtor, "ZS-2026-1501", "75.00", days_overdue=-3)
    open_link(page, live_server, debtor)

    assert not page.get_by_text("Dit totaal geldt voor de facturen die wij aanvinkten.").is_visible()
