"""Dunning and claim of an invoice that opens again after it was paid.

The invoice is imported from a file, chased by the daily run and paid
within the term of its 14-day letter. Then a file raises its total, or the
bank reverses the payment, and the run goes on.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
from django.conf import settings
from django.core.management import call_command

from betaalreis.banking.reversals import do_confirm_reversal
from betaalreis.channels.files import safe_key
from betaalreis.dunning.models import DunningRestart, InvoiceStage, Stage
from betaalreis.dunning.policies import seed_default_policies
from betaalreis.dunning.reopening import reopened_due_date
from betaalreis.dunning.run import run_cycle
from betaalreis.ledger.actions import do_allocate_payment
from betaalreis.ledger.models import (
    Creditor,
    Debtor,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentSource,
    PaymentStatus,
    TimelineEvent,
)
from betaalreis.legal.claims import ClaimItem, compute_claim
from betaalreis.legal.fourteen_day import fourteen_day_term
from betaalreis.legal.models import legal_settings_for
from betaalreis.outbox.history import reminded_before
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus
from betaalreis.outbox.render import render_communication
from betaalreis.portal.services import load_accounts
from betaalreis.testing import make_creditor

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
HEADER = "Factuurnummer;Relatie;Naam;E-mail;Soort;Factuurdatum;Vervaldatum;Bedrag;Openstaand;Akkoord e-mail\n"
# The consumer has no postal address, so the 14-day letter goes by email, which needs the agreement.
CONSUMER_ROW = "F301;2001;Piet Jansen;piet@example.nl;particulier;01-08-2026;01-09-2026;{total};{open};ja\n"
BUSINESS_ROW = "F401;3001;Jansen Bouw B.V.;info@jansenbouw.example;zakelijk;01-08-2026;01-09-2026;{total};{open};\n"

# The consumer gets the friendly reminder, the reminder and the 14-day letter on these days.
CONSUMER_RUNS = (dt.date(2026, 9, 4), dt.date(2026, 9, 15), dt.date(2026, 9, 29))
LETTER_DAY = dt.date(2026, 9, 29)
# Within the letter's term, a week after the letter, so a week of interest is waived.
PAID_ON = dt.date(2026, 10, 6)
REOPENED_AT = dt.datetime(2026, 10, 20, 10, 0, tzinfo=AMSTERDAM)
# The invoice's payment term of 31 days, counted from the reopening day.
REOPENED_DUE = dt.date(2026, 11, 20)


@pytest.fixture
def creditor() -> Creditor:
    creditor = make_creditor()
    seed_default_policies(creditor)
    return creditor


def import_file(tmp_path: Path, name: str, row: str, *, at: dt.datetime | None = None) -> str:
    """Import `row` as file `name`, at the moment `at` if given, and return the import report."""
    path = tmp_path / name
    path.write_text(HEADER + row, encoding="utf-8")
    output = io.StringIO()
    if at is None:
        call_command("import", str(path), "--creditor", "acme", stdout=output)
        return output.getvalue()
    with mock.patch("django.utils.timezone.now", return_value=at):
        call_command("import", str(path), "--creditor", "acme", stdout=output)
    return output.getvalue()


def invoice(number: str) -> Invoice:
    return Invoice.objects.get(number=number)


def messages(number: str, *, after: int = 0) -> list[Communication]:
    """Return the sent messages that list invoice `number`, oldest first, with an id above `after`."""
    return list(
        Communication.objects.filter(items__invoice__number=number, status=CommunicationStatus.SENT, pk__gt=after)
        .order_by("pk")
    )


def last_message_id() -> int:
    latest = Communication.objects.order_by("-pk").first()
    return latest.pk if latest else 0


def pay(number: str, amount: Decimal, on: dt.date) -> Payment:
    target = invoice(number)
    payment = Payment.objects.create(
        creditor=target.creditor, debtor=target.debtor, source=PaymentSource.BANK,
        external_id=f"bank-{number}-{on}", booking_date=on, amount=amount,
    )
    do_allocate_payment(payment, [target], source="test", reason="invoice number in remittance")
    return payment


def claim_on(creditor: Creditor, kind: str, principal: str, due: dt.date, on: dt.date, term_end=None):
    return compute_claim(
        debtor_kind=kind,
        items=[ClaimItem("F", Decimal(principal), due)],
        on=on,
        fourteen_day_term_end=term_end,
        settings=legal_settings_for(creditor),
    )


def paid_within_letter_term(creditor: Creditor, tmp_path: Path) -> Payment:
    """Import F301 of 300,00, run up to its 14-day letter and pay the letter's amount within its term."""
    import_file(tmp_path, "first.csv", CONSUMER_ROW.format(total="300,00", open="300,00"))
    for day in CONSUMER_RUNS:
        run_cycle(day, creditor)
    letter = messages("F301")[-1]
    assert letter.stage == "fourteen_day_letter"
    assert letter.total_amount > Decimal("300.00")

    payment = pay("F301", letter.total_amount, PAID_ON)

    assert invoice("F301").status == InvoiceStatus.PAID
    waived = TimelineEvent.objects.get(invoice__number="F301", data__reason="charges_waived")
    assert Decimal(waived.data["interest"]) > Decimal("0.00")
    return payment


def reopen_and_run(creditor: Creditor, tmp_path: Path, days: Sequence[dt.date]) -> int:
    """Raise the paid F301 to 350,00 by an import, run on `days`, and return the last message id before."""
    paid_within_letter_term(creditor, tmp_path)
    before = last_message_id()
    import_file(tmp_path, "raised.csv", CONSUMER_ROW.format(total="350,00", open="50,00"), at=REOPENED_AT)
    for day in days:
        run_cycle(day, creditor)
    return before


def test_raised_total_sends_new_letter_first(creditor, tmp_path):
    before = reopen_and_run(
        creditor, tmp_path, (dt.date(2026, 10, 21), dt.date(2026, 11, 23), dt.date(2026, 12, 4), dt.date(2026, 12, 18))
    )

    reopened = invoice("F301")
    assert reopened.status == InvoiceStatus.OPEN
    assert reopened.open_amount == Decimal("50.00")
    sent = messages("F301", after=before)
    assert [message.stage for message in sent] == ["friendly_reminder", "reminder", "fourteen_day_letter"]
    assert sent[0].run_date == dt.date(2026, 11, 23)
    # Neither costs nor the interest waived at the payment come back.
    assert sent[0].total_amount == Decimal("50.00")
    expected = claim_on(creditor, "consumer", "50.00", REOPENED_DUE, dt.date(2026, 12, 18))
    assert expected.costs.total == Decimal("0.00")
    assert sent[2].total_amount == expected.total_outstanding
    # Only messages of the new cycle count as asking before.
    reminded = reminded_before([(message, list(message.items.all())) for message in sent])
    assert sent[0].pk not in reminded
    assert sent[1].pk in reminded


def test_raised_total_costs_after_new_letter(creditor, tmp_path):
    paid_within_letter_term(creditor, tmp_path)
    import_file(tmp_path, "raised.csv", CONSUMER_ROW.format(total="350,00", open="50,00"), at=REOPENED_AT)
    for day in (dt.date(2026, 11, 23), dt.date(2026, 12, 4), dt.date(2026, 12, 18)):
        run_cycle(day, creditor)
    before = last_message_id()

    run_cycle(dt.date(2027, 1, 15), creditor)

    (notice,) = messages("F301", after=before)
    assert notice.stage == "final_notice"
    term = fourteen_day_term(dt.date(2026, 12, 18), "email", legal_settings_for(creditor))
    expected = claim_on(creditor, "consumer", "50.00", REOPENED_DUE, dt.date(2027, 1, 15), term.term_end)
    assert expected.costs.total == Decimal("40.00")
    assert notice.total_amount == expected.total_outstanding


def test_raised_total_restart_on_timeline(creditor, tmp_path):
    paid_within_letter_term(creditor, tmp_path)

    import_file(tmp_path, "raised.csv", CONSUMER_ROW.format(total="350,00", open="50,00"), at=REOPENED_AT)

    restart = DunningRestart.objects.get(invoice__number="F301")
    assert restart.principal == Decimal("50.00")
    assert restart.due_date == REOPENED_DUE
    assert not InvoiceStage.objects.filter(invoice__number="F301").exists()
    event = TimelineEvent.objects.get(invoice__number="F301", data__reason="dunning_restarted")
    assert event.data["from_stage"] == "fourteen_day_letter"
    assert event.data["due_date"] == "2026-11-20"
    assert "20-11-2026" in event.summary
    assert "nieuwe veertiendagenbrief" in event.summary
    assert "new 14-day letter" in event.data["summary_en"]


def test_business_restart_from_new_due(creditor, tmp_path):
    import_file(tmp_path, "first.csv", BUSINESS_ROW.format(total="300,00", open="300,00"))
    for day in (dt.date(2026, 8, 29), dt.date(2026, 9, 11), dt.date(2026, 9, 25), dt.date(2026, 10, 9)):
        run_cycle(day, creditor)
    assert messages("F401")[-1].stage == "final_notice"
    # The business pays the principal only, so the costs and interest are waived.
    pay("F401", Decimal("300.00"), dt.date(2026, 10, 12))
    waived = TimelineEvent.objects.get(invoice__number="F401", data__reason="charges_waived")
    assert Decimal(waived.data["costs"]) > Decimal("0.00")
    before = last_message_id()

    import_file(tmp_path, "raised.csv", BUSINESS_ROW.format(total="350,00", open="50,00"), at=REOPENED_AT)
    for day in (dt.date(2026, 10, 21), dt.date(2026, 10, 31), dt.date(2026, 11, 17)):
        run_cycle(day, creditor)
    for day in (dt.date(2026, 11, 30), dt.date(2026, 12, 14), dt.date(2026, 12, 28)):
        run_cycle(day, creditor)

    sent = messages("F401", after=before)
    assert [message.stage for message in sent] == ["friendly_reminder", "reminder", "second_reminder", "final_notice"]
    assert sent[0].run_date == dt.date(2026, 11, 17)
    assert sent[0].total_amount == Decimal("50.00")
    # A business owes costs from the day after the new due date, without a
    # 14-day letter, and interest on the reopened amount only.
    expected = claim_on(creditor, "business", "50.00", REOPENED_DUE, dt.date(2026, 12, 28))
    assert expected.costs.total == Decimal("40.00")
    assert sent[3].total_amount == expected.total_outstanding


def test_reversed_payment_keeps_history(creditor, tmp_path):
    payment = paid_within_letter_term(creditor, tmp_path)
    reversal = Payment.objects.create(
        creditor=creditor, source=PaymentSource.BANK, external_id="storno-1", booking_date=dt.date(2026, 10, 15),
        amount=-payment.amount, status=PaymentStatus.REVIEW,
    )

    do_confirm_reversal(reversal, payment, user=None)
    before = last_message_id()
    run_cycle(dt.date(2026, 10, 21), creditor)

    reopened = invoice("F301")
    assert reopened.status == InvoiceStatus.OPEN
    assert not DunningRestart.objects.exists()
    (lapsed,) = TimelineEvent.objects.filter(invoice=reopened, data__reason="waiver_lapsed")
    waived = TimelineEvent.objects.get(invoice=reopened, data__reason="charges_waived")
    assert lapsed.data["waiver_event_id"] == waived.pk
    assert lapsed.data["interest"] == waived.data["interest"]
    assert "teruggeboekt" in lapsed.summary
    assert "was reversed" in lapsed.data["summary_en"]
    # The debtor did not pay within the letter's term after all, so the
    # final notice claims costs and interest from the original due date.
    (notice,) = messages("F301", after=before)
    assert notice.stage == "final_notice"
    term = fourteen_day_term(LETTER_DAY, "email", legal_settings_for(creditor))
    expected = claim_on(creditor, "consumer", "300.00", dt.date(2026, 9, 1), dt.date(2026, 10, 21), term.term_end)
    # 15 % of the first 2,500 euro of principal (BIK art. 2).
    assert expected.costs.total == Decimal("45.00")
    assert notice.total_amount == expected.total_outstanding


@pytest.mark.parametrize(
    ("issue", "due", "expected"),
    [
        # The invoice's own term of 31 days, counted from the reopening day.
        (dt.date(2026, 8, 1), dt.date(2026, 9, 1), dt.date(2026, 11, 20)),
        # No term on the invoice: 30 days.
        (dt.date(2026, 9, 1), dt.date(2026, 9, 1), dt.date(2026, 11, 19)),
        # Never before the invoice's own due date.
        (dt.date(2026, 12, 31), dt.date(2026, 12, 31), dt.date(2026, 12, 31)),
        # No issue date known: 30 days.
        (None, dt.date(2026, 9, 1), dt.date(2026, 11, 19)),
    ],
)
def test_reopened_due_date(issue, due, expected):
    reopened = Invoice(issue_date=issue, due_date=due)

    assert reopened_due_date(reopened, dt.date(2026, 10, 20)) == expected


def outbox_text(message: Communication) -> str:
    """Return the text of the email that the file outbox holds for `message`."""
    (path,) = Path(settings.OUTBOX_DIR).glob(f"email/**/{safe_key(message.idempotency_key)}.eml")
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    return parsed.get_body(preferencelist=("plain",)).get_content()


def test_restarted_messages_state_new_due(creditor, tmp_path):
    before = reopen_and_run(
        creditor, tmp_path, (dt.date(2026, 11, 23), dt.date(2026, 12, 4), dt.date(2026, 12, 18), dt.date(2027, 1, 15))
    )

    sent = messages("F301", after=before)
    assert [message.stage for message in sent] == [
        "friendly_reminder", "reminder", "fourteen_day_letter", "final_notice",
    ]
    for message in sent:
        text = outbox_text(message)
        assert "20-11-2026" in text, message.stage
        assert "01-09-2026" not in text, message.stage


def test_restarted_letter_and_portal_state_new_due(creditor, tmp_path):
    paid_within_letter_term(creditor, tmp_path)
    import_file(tmp_path, "raised.csv", CONSUMER_ROW.format(total="350,00", open="50,00"), at=REOPENED_AT)
    reopened = invoice("F301")
    Debtor.objects.filter(pk=reopened.debtor_id).update(
        street="Damrak 1", postal_code="1012 LG", city="Amsterdam", phone="+31201234567"
    )
    reopened = invoice("F301")
    day = dt.date(2027, 1, 15)
    stage = Stage.objects.get(policy__creditor=creditor, policy__debtor_kind="consumer", code="final_notice")

    rendered = {}
    for channel in ("letter", "phone"):
        communication = Communication.objects.create(
            creditor=creditor, debtor=reopened.debtor, channel=channel, stage="final_notice", language="nl",
            idempotency_key=f"restart-{channel}", run_date=day, total_amount=reopened.open_amount,
        )
        items = [CommunicationInvoice.objects.create(
            communication=communication, invoice=reopened, open_amount=reopened.open_amount
        )]
        rendered[channel] = render_communication(communication, items, stage, today=day)

    letter = rendered["letter"]
    pdf = "\n".join(page.get_textpage().get_text_range() for page in pdfium.PdfDocument(letter.attachments[0].content))
    assert "20-11-2026" in pdf
    assert "01-09-2026" not in pdf
    assert "vervaldatum 20-11-2026" in letter.text
    # 56 days from the reopened amount's due date, not 136 from the invoice's own.
    assert "56 dagen over de vervaldatum" in rendered["phone"].subject
    (task_line,) = rendered["phone"].metadata["call_task"]["invoices"]
    assert task_line["due_date"] == "2026-11-20"
    assert task_line["days_overdue"] == 56

    (account,) = load_accounts([reopened.debtor_id], day)
    (line,) = account.open_lines
    assert line.due_date == REOPENED_DUE
