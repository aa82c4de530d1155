"""Simulating days of daily runs on the demo ledger.

Each simulated day:
1. inserts the invoices issued that day;
2. decides which debtors pay today, from their `PaymentBehaviour` and the
   dunning stage their invoices reached, writes those payments as a
   camt.053 statement per creditor under `$BETAALREIS_HOME/bank/<slug>/`
   and imports it with the banking importer;
3. runs the daily job (`run_cycle`) for each demo creditor, which matches
   the payments, plans the due stages, writes the outbox and dispatches it
   to the file adapters only;
4. reports what went out and what came in.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from schwifty import IBAN

from betaalreis.demo.camt import Statement, StatementEntry, write_statement
from betaalreis.demo.generator import BATCH_SIZE, DemoConfig, DemoLedger, PaymentHabit
from betaalreis.dunning.run import replay_moment, run_cycle
from betaalreis.ledger import timeline
from betaalreis.ledger.models import (
    Creditor,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payment,
    PaymentSource,
)
from betaalreis.ledger.money import quantize
from betaalreis.outbox.models import Communication, CommunicationStatus

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

logger = logging.getLogger(__name__)

# Share of payers who type the invoice number as free text instead of the
# structured payment reference, as some banking apps make them do.
UNSTRUCTURED_SHARE = 0.05


@dataclass(slots=True)
class DayReport:
    """Outgoing messages and incoming payments of one simulated day."""

    day: dt.date
    new_invoices: int = 0
    payments: int = 0
    payments_amount: Decimal = Decimal("0.00")
    # Outbox rows planned for the day per (channel, stage), and their
    # statuses right after the day's dispatch. A message held for contact
    # hours is pending then and goes out with the next day's dispatch.
    planned: Counter[tuple[str, str]] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    # Outbox rows sent on the day per (channel, stage), whatever day planned
    # them, so that a message held from Sunday counts on Monday.
    sent: Counter[tuple[str, str]] = field(default_factory=Counter)
    statement_files: list[Path] = field(default_factory=list)


@dataclass(slots=True)
class SimulationResult:
    days: list[DayReport] = field(default_factory=list)
    bank_import: str = ""


@dataclass(slots=True)
class _PaymentState:
    """Invoices the simulated debtors already paid, so that no invoice is paid twice."""

    paid_in_full: set[int] = field(default_factory=set)
    paid_part: set[int] = field(default_factory=set)
    entry_count: int = 0
    statement_numbers: Counter[int] = field(default_factory=Counter)
    balances: dict[int, Decimal] = field(default_factory=dict)


def _camt_importer() -> type | None:
    """Return the camt importer class, or None where the banking app does not provide it."""
    try:
        from betaalreis.banking.importers import Camt05xImporter
    except ImportError:
        return None
    return Camt05xImporter


class Simulation:
    """The day loop over a built demo ledger."""

    def __init__(self, ledger: DemoLedger, config: DemoConfig) -> None:
        self.ledger = ledger
        self.config = config
        self.rng = random.Random(config.seed + 100)
        self.state = _PaymentState()
        self.importer = _camt_importer()
        self.bank_dir = Path(settings.BETAALREIS_HOME) / "bank"
        self.pending_invoices = deque(ledger.future_invoices)

    @property
    def bank_import(self) -> str:
        if self.importer is None:
            return _("betalingen rechtstreeks geboekt, want de import van camt.053 is niet beschikbaar")
        return _("camt.053-rekeningafschriften")

    def run(self, on_day: Callable[[DayReport], None] | None = None) -> SimulationResult:
        """Simulate every configured day, calling `on_day` after each one."""
        result = SimulationResult(bank_import=self.bank_import)
        for offset in range(self.config.days):
            day = self.config.start + dt.timedelta(days=offset)
            report = self.run_day(day)
            result.days.append(report)
            if on_day is not None:
                on_day(report)
        return result

    def run_day(self, day: dt.date) -> DayReport:
        """Simulate one day: new invoices, incoming payments, the daily run."""
        report = DayReport(day=day)

        report.new_invoices = self._insert_issued_invoices(day)

        for creditor in self.ledger.creditors:
            entries = self._decide_payments(creditor, day)
            if not entries:
                continue
            report.payments += len(entries)
            report.payments_amount += sum((entry.amount for entry in entries), Decimal("0.00"))
            report.statement_files.append(self._book_payments(creditor, day, entries))

        # One run per demo creditor, never creditor=None: a run for all
        # creditors would plan and send other tenants' reminders for the
        # simulated days. The run is simulated, so its messages only go to
        # the file outbox: the demo debtors are invented, and `--start` may
        # put the simulated days after today.
        for creditor in self.ledger.creditors:
            run_cycle(day, creditor=creditor, dispatch_messages=True, simulate=True)

        self._count_outbox(day, report)
        return report

    def _insert_issued_invoices(self, day: dt.date) -> int:
        issued = []
        while self.pending_invoices and self.pending_invoices[0].issue_date <= day:
            issued.append(self.pending_invoices.popleft())
        if issued:
            Invoice.objects.bulk_create(issued, batch_size=BATCH_SIZE)
            self.ledger.invoice_count += len(issued)
        return len(issued)

    def _decide_payments(self, creditor: Creditor, day: dt.date) -> list[StatementEntry]:
        """Return the payments the creditor's debtors make today, one per invoice."""
        rows = Invoice.objects.filter(
            creditor=creditor, kind=InvoiceKind.INVOICE, status=InvoiceStatus.OPEN
        ).values_list(
            "pk", "debtor_id", "debtor__kind", "debtor__name", "number", "due_date",
            "open_amount", "payment_reference", "dunning_progress__stage", "dunning_progress__stage_date",
        ).order_by("debtor_id", "pk")

        entries = []
        for (
            invoice_id, debtor_id, kind, debtor_name, number, due_date,
            open_amount, reference, stage, stage_date,
        ) in rows:
            if invoice_id in self.state.paid_in_full:
                continue
            amount = self._amount_due_today(
                invoice_id, debtor_id, creditor.pk, kind, due_date, open_amount, stage, stage_date, day
            )
            if amount is None:
                continue
            entries.append(
                self._make_entry(creditor, day, debtor_id, debtor_name, number, reference, amount)
            )
        return entries

    def _amount_due_today(
        self,
        invoice_id: int,
        debtor_id: int,
        creditor_id: int,
        kind: str,
        due_date: dt.date,
        open_amount: Decimal,
        stage: str | None,
        stage_date: dt.date | None,
        day: dt.date,
    ) -> Decimal | None:
        """Return what the debtor pays on the invoice today, or None."""
        behaviour = self.ledger.behaviours[debtor_id]

        if behaviour.habit is PaymentHabit.NEVER:
            return None

        if behaviour.habit is PaymentHabit.ON_TIME:
            if day < due_date + dt.timedelta(days=behaviour.due_offset_days):
                return None
            self.state.paid_in_full.add(invoice_id)
            return open_amount

        if not stage or stage_date is None:
            return None
        reached = self.ledger.stage_orders.get((creditor_id, kind, stage), 0)
        if day < stage_date + dt.timedelta(days=behaviour.delay_days):
            return None

        if behaviour.habit is PaymentHabit.PARTIAL and invoice_id not in self.state.paid_part:
            if reached < behaviour.stage_order:
                return None
            self.state.paid_part.add(invoice_id)
            return quantize(open_amount * behaviour.partial_share)

        required = behaviour.stage_order + (2 if behaviour.habit is PaymentHabit.PARTIAL else 0)
        if reached < required:
            return None
        self.state.paid_in_full.add(invoice_id)
        return open_amount

    def _make_entry(
        self,
        creditor: Creditor,
        day: dt.date,
        debtor_id: int,
        debtor_name: str,
        number: str,
        reference: str,
        amount: Decimal,
    ) -> StatementEntry:
        self.state.entry_count += 1
        payer_iban = self.ledger.payer_ibans[debtor_id]
        use_text = self.rng.random() < UNSTRUCTURED_SHARE
        return StatementEntry(
            amount=amount,
            booking_date=day,
            account_servicer_reference=f"DEMO{creditor.pk:03d}{day:%Y%m%d}{self.state.entry_count:08d}",
            end_to_end_id="NOTPROVIDED",
            payer_name=debtor_name,
            payer_iban=payer_iban,
            payer_bic=str(IBAN(payer_iban).bic),
            structured_reference="" if use_text else reference,
            remittance_text=f"Factuur {number}" if use_text else "",
        )

    def _book_payments(self, creditor: Creditor, day: dt.date, entries: list[StatementEntry]) -> Path:
        """Write the day's statement for the creditor and bring its payments into the ledger."""
        self.state.statement_numbers[creditor.pk] += 1
        opening = self.state.balances.get(creditor.pk, Decimal("25000.00"))
        statement = Statement(
            account_iban=creditor.iban,
            account_bic=creditor.bic,
            day=day,
            sequence_number=self.state.statement_numbers[creditor.pk],
            opening_balance=opening,
            entries=tuple(entries),
        )
        self.state.balances[creditor.pk] = statement.closing_balance
        created_at = dt.datetime.combine(day, dt.time(6, 30), tzinfo=timezone.get_default_timezone())
        path = write_statement(statement, self.bank_dir / creditor.slug, created_at)

        if self.importer is not None:
            # The import matches the payments at once, so its timeline
            # events carry the simulated day, as the day's run does.
            with timeline.dated_at(replay_moment(day)):
                self.importer().run(path, creditor)
        else:
            _create_payments(creditor, entries)
        return path

    def _count_outbox(self, day: dt.date, report: DayReport) -> None:
        rows = (
            Communication.objects.filter(creditor__in=self.ledger.creditors, run_date=day)
            .values_list("channel", "stage", "status")
            .annotate(count=Count("pk"))
        )
        for channel, stage, status, count in rows:
            report.planned[(channel, stage)] += count
            report.statuses[status] += count
        report.sent.update(sent_on_day(self.ledger.creditors, day))


def sent_on_day(creditors: list[Creditor], day: dt.date) -> Counter[tuple[str, str]]:
    """Count the creditors' messages sent on `day` in Amsterdam time, per (channel, stage)."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=AMSTERDAM)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=AMSTERDAM)
    rows = (
        Communication.objects.filter(
            creditor__in=creditors, status=CommunicationStatus.SENT, sent_at__gte=start, sent_at__lt=end
        )
        .values_list("channel", "stage")
        .annotate(count=Count("pk"))
    )
    return Counter({(channel, stage): count for channel, stage, count in rows})


def _create_payments(creditor: Creditor, entries: list[StatementEntry]) -> None:
    """Store the entries as unmatched bank payments, for the run's first step to match."""
    Payment.objects.bulk_create(
        [
            Payment(
                creditor=creditor,
                source=PaymentSource.BANK,
                external_id=entry.account_servicer_reference,
                booking_date=entry.booking_date,
                value_date=entry.booking_date,
                amount=entry.amount,
                payer_name=entry.payer_name,
                payer_iban=entry.payer_iban,
                structured_reference=entry.structured_reference,
                remittance_info=entry.remittance_text,
            )
            for entry in entries
        ],
        batch_size=BATCH_SIZE,
    )


def invoice_status_counts(ledger: DemoLedger) -> dict[str, tuple[int, Decimal]]:
    """Return (count, open amount) per invoice status over the demo creditors."""
    rows = (
        Invoice.objects.filter(creditor__in=ledger.creditors, kind=InvoiceKind.INVOICE)
        .values_list("status")
        .annotate(count=Count("pk"), open_total=Sum("open_amount"))
    )
    return {status: (count, open_total or Decimal("0.00")) for status, count, open_total in rows}


def payment_status_counts(ledger: DemoLedger, since: dt.date) -> dict[str, int]:
    """Return how many bank payments booked from `since` on have each payment status."""
    rows = (
        Payment.objects.filter(
            creditor__in=ledger.creditors, source=PaymentSource.BANK, booking_date__gte=since
        )
        .values_list("status")
        .annotate(count=Count("pk"))
    )
    return dict(rows)


def outbox_status_counts(ledger: DemoLedger) -> dict[str, int]:
    """Return how many of the demo creditors' outbox messages have each status now."""
    rows = (
        Communication.objects.filter(creditor__in=ledger.creditors)
        .values_list("status")
        .annotate(count=Count("pk"))
    )
    return dict(rows)
