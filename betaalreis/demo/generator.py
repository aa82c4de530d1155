"""The demo ledger: two creditors with Dutch debtors, invoices and payment history.

`build_ledger` creates a B2C energy supplier and a B2B wholesaler, seeds
their default dunning policies, and bulk-inserts debtors and the invoices
issued up to the start day. Invoices issued later come back as
`DemoLedger.future_invoices`, which the simulation inserts on their issue
date. Every debtor gets a `PaymentBehaviour` that sets when it pays.
Invoices the debtor would have paid before the start day are stored as paid,
with the bank payment and allocation that settled them.

All contact data is invented: email addresses use the reserved domain
example.com (RFC 2606), so a misconfigured mail backend cannot reach anyone.
"""

from __future__ import annotations

import datetime as dt
import enum
import random
import shutil
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from faker import Faker
from schwifty import IBAN
from stdnum.nl import btw

from betaalreis.dunning.models import Stage
from betaalreis.dunning.policies import seed_default_policies
from betaalreis.errors import InvalidInput
from betaalreis.legal.references import make_betalingskenmerk, make_rf_reference
from betaalreis.ledger import timeline
from betaalreis.ledger.models import (
    ZERO,
    Allocation,
    Channel,
    Creditor,
    Debtor,
    DebtorBankAccount,
    DebtorKind,
    Invoice,
    InvoiceStatus,
    Language,
    MatchRule,
    Payment,
    PaymentSource,
    PaymentStatus,
    TimelineEvent,
    TimelineKind,
)
from betaalreis.ledger.money import format_money, quantize

DEMO_SOURCE = "demo"
# The score bank matching gives a match on a structured reference (betaalreis/banking/rules.py).
STRUCTURED_REFERENCE_SCORE = 100
BATCH_SIZE = 2000

# Invoices due this many days or more before the start day are history: the
# debtor paid them before the simulation begins. The window is longer than
# the last stage offset of the default consumer policy (70 days), so open
# invoices reach every stage.
HISTORY_DAYS = 80

# Retail banks whose IBANs the demo payers use.
PAYER_BANKS = ("INGB", "RABO", "ABNA", "SNSB", "ASNB", "TRIO", "KNAB", "BUNQ")


@dataclass(frozen=True, slots=True)
class CreditorSpec:
    slug: str
    legal_name: str
    trade_name: str
    kvk_number: str
    bank_code: str
    account_code: str
    street: str
    postal_code: str
    city: str
    email: str
    phone: str
    website: str
    brand_color: str
    invoice_prefix: str
    customer_prefix: str
    share_of_debtors: float
    business_share: float
    payment_term_days: int


DEMO_CREDITORS = (
    CreditorSpec(
        slug="demo-energie",
        legal_name="Polderstroom Energie B.V.",
        trade_name="Polderstroom",
        kvk_number="90412377",
        bank_code="INGB",
        account_code="0007654321",
        street="Stationsplein 12",
        postal_code="3511 ED",
        city="Utrecht",
        email="klantenservice@polderstroom.example.com",
        phone="+31302345678",
        website="https://polderstroom.example.com",
        brand_color="#0b7a3e",
        invoice_prefix="PS",
        customer_prefix="K",
        share_of_debtors=0.7,
        business_share=0.06,
        payment_term_days=14,
    ),
    CreditorSpec(
        slug="demo-groothandel",
        legal_name="Van Dam Horecagroothandel B.V.",
        trade_name="Van Dam Groothandel",
        kvk_number="71833025",
        bank_code="RABO",
        account_code="0123456789",
        street="Industrieweg 40",
        postal_code="2712 LB",
        city="Zoetermeer",
        email="debiteuren@vandam.example.com",
        phone="+31793456789",
        website="https://vandam.example.com",
        brand_color="#8a1c1c",
        invoice_prefix="VD",
        customer_prefix="D",
        share_of_debtors=0.3,
        business_share=1.0,
        payment_term_days=30,
    ),
)
DEMO_SLUGS = tuple(spec.slug for spec in DEMO_CREDITORS)


class PaymentHabit(enum.Enum):
    ON_TIME = "on_time"
    AFTER_STAGE = "after_stage"
    PARTIAL = "partial"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class PaymentBehaviour:
    """When a debtor pays an invoice, relative to the dunning stage it reached.

    ON_TIME pays `due_offset_days` after the due date (negative is early).
    AFTER_STAGE pays in full `delay_days` after the invoice reached the stage
    with order `stage_order`. PARTIAL pays `partial_share` of the open amount
    at that moment and the rest `delay_days` after stage `stage_order + 2`.
    NEVER does not pay.
    """

    habit: PaymentHabit
    stage_order: int = 0
    delay_days: int = 0
    due_offset_days: int = 0
    partial_share: Decimal = Decimal("1")


@dataclass(frozen=True, slots=True)
class DemoConfig:
    seed: int = 7
    debtors: int = 2000
    invoices: int = 10000
    start: dt.date = field(default_factory=dt.date.today)
    days: int = 60

    def __post_init__(self) -> None:
        if self.debtors < len(DEMO_CREDITORS):
            raise InvalidInput(
                f"Invalid number of debtors {self.debtors}: the demo needs at least "
                f"{len(DEMO_CREDITORS)}, one per demo creditor."
            )
        if self.invoices < self.debtors:
            raise InvalidInput(
                f"Invalid number of invoices {self.invoices}: use at least one per debtor "
                f"({self.debtors})."
            )
        if self.days < 1:
            raise InvalidInput(f"Invalid number of days {self.days}: simulate at least 1 day.")

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=self.days - 1)


@dataclass
class DemoLedger:
    """The rows `build_ledger` created and the input the simulation needs."""

    creditors: list[Creditor]
    behaviours: dict[int, PaymentBehaviour]
    # Stage order per (creditor id, debtor kind, stage code).
    stage_orders: dict[tuple[int, str, str], int]
    # Unsaved invoices with an issue date after the start day, oldest first.
    future_invoices: list[Invoice]
    payer_ibans: dict[int, str]
    debtor_count: int = 0
    invoice_count: int = 0
    historic_payment_count: int = 0


def reset_demo_data() -> int:
    """Delete the demo creditors with all their rows, bank statement files and outbox files.

    The file outbox keeps each creditor's messages under
    `<OUTBOX_DIR>/<channel>/<creditor slug>/`, so only those folders of the
    demo slugs are removed. Returns how many creditors were deleted.
    Creditors with other slugs are never touched.
    """
    deleted = 0
    with transaction.atomic():
        for creditor in Creditor.objects.filter(slug__in=DEMO_SLUGS):
            creditor.delete()
            deleted += 1

    home = Path(settings.BETAALREIS_HOME)
    outbox = Path(settings.OUTBOX_DIR)
    channel_dirs = [path for path in outbox.iterdir() if path.is_dir()] if outbox.is_dir() else []
    for slug in DEMO_SLUGS:
        for path in (home / "bank" / slug).glob("camt053-*.xml"):
            path.unlink()
        for channel_dir in channel_dirs:
            shutil.rmtree(channel_dir / slug, ignore_errors=True)
    return deleted


def build_ledger(config: DemoConfig) -> DemoLedger:
    """Create the demo creditors, policies, debtors, invoices and payment history."""
    rng = random.Random(config.seed)
    faker_nl = Faker("nl_NL")
    faker_nl.seed_instance(config.seed)
    faker_en = Faker("en_GB")
    faker_en.seed_instance(config.seed + 1)

    if Creditor.objects.filter(slug__in=DEMO_SLUGS).exists():
        raise InvalidInput(
            f"Demo creditors {', '.join(DEMO_SLUGS)} already exist. "
            "Run `betaalreis demo --reset` to delete them and build the demo again."
        )

    ledger = DemoLedger(
        creditors=[], behaviours={}, stage_orders={}, future_invoices=[], payer_ibans={}
    )
    remaining_debtors = config.debtors
    remaining_invoices = config.invoices

    with transaction.atomic():
        for index, spec in enumerate(DEMO_CREDITORS):
            is_last = index == len(DEMO_CREDITORS) - 1
            debtor_count = remaining_debtors if is_last else round(config.debtors * spec.share_of_debtors)
            invoice_count = (
                remaining_invoices if is_last else round(config.invoices * spec.share_of_debtors)
            )
            remaining_debtors -= debtor_count
            remaining_invoices -= invoice_count

            creditor = _create_creditor(spec)
            seed_default_policies(creditor)
            ledger.creditors.append(creditor)
            ledger.stage_orders.update(_read_stage_orders(creditor))

            builder = _CreditorBuilder(spec, creditor, config, rng, faker_nl, faker_en, ledger)
            builder.build(debtor_count, invoice_count)

    return ledger


def _create_creditor(spec: CreditorSpec) -> Creditor:
    iban = IBAN.generate("NL", bank_code=spec.bank_code, account_code=spec.account_code)
    creditor = Creditor(
        slug=spec.slug,
        legal_name=spec.legal_name,
        trade_name=spec.trade_name,
        kvk_number=spec.kvk_number,
        vat_id=_vat_id_for(int(spec.kvk_number)),
        iban=iban.compact,
        bic=str(iban.bic),
        street=spec.street,
        postal_code=spec.postal_code,
        city=spec.city,
        email=spec.email,
        phone=spec.phone,
        website=spec.website,
        brand_color=spec.brand_color,
    )
    creditor.full_clean()
    creditor.save()
    return creditor


def _read_stage_orders(creditor: Creditor) -> dict[tuple[int, str, str], int]:
    rows = Stage.objects.filter(policy__creditor=creditor).values_list(
        "policy__debtor_kind", "code", "order"
    )
    return {(creditor.pk, kind, code): order for kind, code, order in rows}


def _vat_id_for(seed: int) -> str:
    """Return a Dutch VAT id (NL, 9 digits, B01) that passes the check of `stdnum.nl.btw`."""
    rng = random.Random(seed)
    while True:
        candidate = f"NL{rng.randrange(10**8, 10**9)}B01"
        if btw.is_valid(candidate):
            return candidate


def _mobile_number(rng: random.Random) -> str:
    # Dutch mobile numbers are 06 and eight digits. The demo uses 061 to 065,
    # which phonenumbers classifies as mobile.
    # These are random numbers in live ranges, unlike the reserved email
    # domains, so the simulation sends only through the file adapters.
    number = f"+316{rng.randint(1, 5)}{rng.randrange(10**7):07d}"
    if not phonenumbers.is_valid_number(phonenumbers.parse(number)):
        raise AssertionError(f"generated mobile number {number} is not valid")
    return number


def _landline_number(rng: random.Random) -> str:
    area = rng.choice(("20", "10", "30", "40", "50", "70", "71", "73", "76", "79"))
    number = f"+31{area}{rng.randrange(2 * 10**6, 10**7):07d}"
    if not phonenumbers.is_valid_number(phonenumbers.parse(number)):
        raise AssertionError(f"generated phone number {number} is not valid")
    return number


def _postal_code(faker: Faker) -> str:
    code = faker.postcode().replace(" ", "")
    return f"{code[:4]} {code[4:]}"


def _email_local_part(name: str, rng: random.Random) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    letters = "".join(ch for ch in ascii_name.lower() if ch.isalnum() or ch == " ")
    parts = letters.split()
    if not parts:
        parts = ["klant"]
    local = ".".join(parts[-2:])
    return f"{local}{rng.randrange(100)}"


def _choose_behaviour(rng: random.Random, kind: str) -> PaymentBehaviour:
    """Draw a payment habit: most pay on time or after a reminder, some never."""
    draw = rng.random()
    on_time_share = 0.42 if kind == DebtorKind.CONSUMER else 0.35
    if draw < on_time_share:
        return PaymentBehaviour(PaymentHabit.ON_TIME, due_offset_days=rng.randint(-6, 2))
    if draw < on_time_share + 0.25:
        return PaymentBehaviour(PaymentHabit.AFTER_STAGE, stage_order=2, delay_days=rng.randint(1, 6))
    if draw < on_time_share + 0.37:
        return PaymentBehaviour(PaymentHabit.AFTER_STAGE, stage_order=3, delay_days=rng.randint(1, 6))
    if draw < on_time_share + 0.45:
        return PaymentBehaviour(
            PaymentHabit.AFTER_STAGE, stage_order=rng.choice((4, 5)), delay_days=rng.randint(1, 4)
        )
    if draw < on_time_share + 0.52:
        return PaymentBehaviour(
            PaymentHabit.PARTIAL,
            stage_order=2,
            delay_days=rng.randint(1, 5),
            partial_share=Decimal(rng.choice(("0.25", "0.40", "0.50", "0.60"))),
        )
    return PaymentBehaviour(PaymentHabit.NEVER)


def historic_payment_date(
    behaviour: PaymentBehaviour, due_date: dt.date, stage_offsets: list[int]
) -> dt.date | None:
    """Return the day a debtor with `behaviour` pays an invoice in full, if no run interferes.

    `stage_offsets` lists the policy's stage offsets in stage order. Used for
    invoices that fell due before the demo starts. PARTIAL debtors count as
    paying in full when the second instalment is due.
    """
    if behaviour.habit is PaymentHabit.ON_TIME:
        return due_date + dt.timedelta(days=behaviour.due_offset_days)
    if behaviour.habit is PaymentHabit.NEVER:
        return None

    order = behaviour.stage_order
    if behaviour.habit is PaymentHabit.PARTIAL:
        order += 2
    offset = stage_offsets[min(order, len(stage_offsets)) - 1]
    return due_date + dt.timedelta(days=offset + behaviour.delay_days)


class _CreditorBuilder:
    """Debtors, invoices and payment history of one demo creditor."""

    def __init__(
        self,
        spec: CreditorSpec,
        creditor: Creditor,
        config: DemoConfig,
        rng: random.Random,
        faker_nl: Faker,
        faker_en: Faker,
        ledger: DemoLedger,
    ) -> None:
        self.spec = spec
        self.creditor = creditor
        self.config = config
        self.rng = rng
        self.faker_nl = faker_nl
        self.faker_en = faker_en
        self.ledger = ledger
        self.stage_offsets = {
            kind: list(
                Stage.objects.filter(policy__creditor=creditor, policy__debtor_kind=kind)
                .order_by("order")
                .values_list("offset_days", flat=True)
            )
            for kind in DebtorKind.values
        }

    def build(self, debtor_count: int, invoice_count: int) -> None:
        debtors = Debtor.objects.bulk_create(
            [self._make_debtor(number) for number in range(1, debtor_count + 1)],
            batch_size=BATCH_SIZE,
        )
        self.ledger.debtor_count += len(debtors)

        accounts = []
        for debtor in debtors:
            self.ledger.behaviours[debtor.pk] = _choose_behaviour(self.rng, debtor.kind)
            iban = IBAN.random(
                country_code="NL", random=self.rng, bank_code=self.rng.choice(PAYER_BANKS)
            ).compact
            self.ledger.payer_ibans[debtor.pk] = iban
            accounts.append(
                DebtorBankAccount(creditor=self.creditor, debtor=debtor, iban=iban, source=DEMO_SOURCE)
            )
        DebtorBankAccount.objects.bulk_create(accounts, batch_size=BATCH_SIZE)

        invoices = list(self._make_invoices(debtors, invoice_count))
        current = [invoice for invoice in invoices if invoice.issue_date <= self.config.start]
        future = [invoice for invoice in invoices if invoice.issue_date > self.config.start]
        current = Invoice.objects.bulk_create(current, batch_size=BATCH_SIZE)
        self.ledger.future_invoices.extend(future)
        self.ledger.future_invoices.sort(key=lambda invoice: (invoice.issue_date, invoice.number))
        self.ledger.invoice_count += len(current)

        self._record_history(debtors, current)

    def _make_debtor(self, number: int) -> Debtor:
        rng = self.rng
        kind = DebtorKind.BUSINESS if rng.random() < self.spec.business_share else DebtorKind.CONSUMER
        language = Language.ENGLISH if rng.random() < 0.12 else Language.DUTCH
        faker = self.faker_en if language == Language.ENGLISH else self.faker_nl
        person = faker.name()

        debtor = Debtor(
            creditor=self.creditor,
            customer_number=f"{self.spec.customer_prefix}{100000 + number}",
            kind=kind,
            name=self.faker_nl.company() if kind == DebtorKind.BUSINESS else person,
            contact_person=person if kind == DebtorKind.BUSINESS else "",
            language=language,
            street=self.faker_nl.street_address(),
            postal_code=_postal_code(self.faker_nl),
            city=self.faker_nl.city(),
        )
        domain = "example.com" if kind == DebtorKind.CONSUMER else "example.org"
        debtor.email = f"{_email_local_part(person, rng)}@{domain}"
        debtor.mobile = _mobile_number(rng)
        if kind == DebtorKind.BUSINESS:
            debtor.phone = _landline_number(rng)
            debtor.kvk_number = f"{rng.randrange(10**7, 10**8)}"
            debtor.vat_id = _vat_id_for(rng.randrange(10**9))

        self._limit_contact_data(debtor)
        return debtor

    def _limit_contact_data(self, debtor: Debtor) -> None:
        """Leave some debtors with one way to reach them, and some with opt-outs."""
        draw = self.rng.random()
        if draw < 0.08:
            debtor.mobile = debtor.phone = ""
            debtor.street = debtor.postal_code = debtor.city = ""
        elif draw < 0.13:
            debtor.email = ""
            debtor.street = debtor.postal_code = debtor.city = ""
        elif draw < 0.21:
            debtor.email = debtor.mobile = debtor.phone = ""
        elif draw < 0.36:
            debtor.mobile = ""

        if debtor.mobile and self.rng.random() < 0.04:
            debtor.opted_out_channels = [Channel.SMS]
        if debtor.email and self.rng.random() < 0.05:
            debtor.preferred_channel = Channel.EMAIL
            # These debtors also agreed to electronic communication, so the
            # demo shows 14-day letters by e-mail beside those by post. The
            # choice draws no random number, which keeps the rest of the data.
            debtor.electronic_agreement = True
            debtor.electronic_agreement_at = timezone.make_aware(
                dt.datetime.combine(self.config.start - dt.timedelta(days=HISTORY_DAYS), dt.time(9))
            )
            debtor.electronic_agreement_source = "demo"
        elif debtor.street and self.rng.random() < 0.03:
            debtor.preferred_channel = Channel.LETTER

    def _make_invoices(self, debtors: list[Debtor], invoice_count: int) -> Iterator[Invoice]:
        """Spread `invoice_count` invoices over the debtors and over time.

        Issue dates run from HISTORY_DAYS + 20 days before the first due
        date of the simulation to its last day, so invoices fall due, reach
        every stage and are issued throughout the simulation. Invoices issued
        in its last weeks are not yet due when it ends, as in a real ledger.
        """
        first_issue = self.config.start - dt.timedelta(
            days=HISTORY_DAYS + 20 + self.spec.payment_term_days
        )
        last_issue = self.config.end
        window_days = max((last_issue - first_issue).days, 1)

        counts = [1] * len(debtors)
        for _ in range(invoice_count - len(debtors)):
            counts[self.rng.randrange(len(debtors))] += 1

        drafts = []
        for debtor, count in zip(debtors, counts, strict=True):
            typical_amount = self._typical_amount(debtor)
            for _ in range(count):
                issue_date = first_issue + dt.timedelta(days=self.rng.randrange(window_days + 1))
                drafts.append((issue_date, debtor.customer_number, debtor, typical_amount))

        # Number invoices in issue order, as an accounting package does.
        drafts.sort(key=lambda draft: (draft[0], draft[1]))
        for sequence, (issue_date, _, debtor, typical_amount) in enumerate(drafts, start=1):
            yield self._make_invoice(debtor, sequence, issue_date, typical_amount)

    def _typical_amount(self, debtor: Debtor) -> Decimal:
        if self.spec.slug == "demo-energie" and debtor.kind == DebtorKind.CONSUMER:
            return Decimal(self.rng.randrange(45, 260))
        return Decimal(round(self.rng.lognormvariate(6.3, 0.9)))

    def _make_invoice(
        self, debtor: Debtor, sequence: int, issue_date: dt.date, typical_amount: Decimal
    ) -> Invoice:
        number = f"{self.spec.invoice_prefix}{issue_date.year}-{sequence:06d}"
        if self.spec.slug == "demo-energie":
            reference = make_betalingskenmerk(f"{self.creditor.pk % 10}{sequence:08d}")
            description = "Termijnbedrag energie" if debtor.kind == DebtorKind.CONSUMER else "Energie zakelijk"
        else:
            reference = make_rf_reference(f"{debtor.customer_number}{sequence:06d}")
            description = "Levering horecagoederen"

        cents = self.rng.randrange(0, 100)
        variation = Decimal(self.rng.uniform(0.8, 1.25)).quantize(Decimal("0.01"))
        total = quantize(max(typical_amount * variation, Decimal("12")) + Decimal(cents) / 100)
        return Invoice(
            creditor=self.creditor,
            debtor=debtor,
            number=number,
            issue_date=issue_date,
            due_date=issue_date + dt.timedelta(days=self.spec.payment_term_days),
            total=total,
            open_amount=total,
            payment_reference=reference,
            description=description,
            source=DEMO_SOURCE,
        )

    def _record_history(self, debtors: list[Debtor], invoices: list[Invoice]) -> None:
        """Mark invoices paid that the debtor settled before the start day."""
        start = self.config.start
        history_end = start - dt.timedelta(days=1)
        created_at = _aware(history_end)
        events = [
            TimelineEvent(
                creditor=self.creditor,
                debtor=debtor,
                kind=TimelineKind.IMPORT,
                at=created_at,
                source=DEMO_SOURCE,
                summary="Debiteur aangemaakt door de demo",
            )
            for debtor in debtors
        ]

        paid: list[tuple[Invoice, dt.date]] = []
        for invoice in invoices:
            behaviour = self.ledger.behaviours[invoice.debtor_id]
            paid_on = historic_payment_date(
                behaviour, invoice.due_date, self.stage_offsets[invoice.debtor.kind]
            )
            overdue_days = (start - invoice.due_date).days
            if overdue_days >= HISTORY_DAYS and paid_on is None:
                # Debtors who never pay were once new customers too. Their
                # oldest invoices count as settled by direct debit.
                paid_on = invoice.due_date
            if paid_on is not None and paid_on < start:
                paid.append((invoice, max(paid_on, invoice.issue_date)))

        # Each historic payment quotes its invoice's payment reference, so it
        # gets the rule, score and English reason that bank matching stores
        # for a match on a structured reference.
        payments = [
            Payment(
                creditor=self.creditor,
                debtor_id=invoice.debtor_id,
                source=PaymentSource.BANK,
                external_id=f"demo-history-{invoice.number}",
                booking_date=paid_on,
                value_date=paid_on,
                amount=invoice.total,
                payer_name=invoice.debtor.name,
                payer_iban=self.ledger.payer_ibans[invoice.debtor_id],
                structured_reference=invoice.payment_reference,
                status=PaymentStatus.MATCHED,
                match_reason=_reference_reason(invoice),
                match_rule=MatchRule.STRUCTURED_REFERENCE,
                match_score=STRUCTURED_REFERENCE_SCORE,
                match_decided_at=_aware(paid_on),
            )
            for invoice, paid_on in paid
        ]
        payments = Payment.objects.bulk_create(payments, batch_size=BATCH_SIZE)
        Allocation.objects.bulk_create(
            [
                Allocation(
                    creditor=self.creditor,
                    payment=payment,
                    invoice=invoice,
                    amount=invoice.total,
                    reason=_reference_reason(invoice),
                )
                for payment, (invoice, _) in zip(payments, paid, strict=True)
            ],
            batch_size=BATCH_SIZE,
        )
        paid_ids = [invoice.pk for invoice, _ in paid]
        for chunk_start in range(0, len(paid_ids), BATCH_SIZE):
            Invoice.objects.filter(pk__in=paid_ids[chunk_start : chunk_start + BATCH_SIZE]).update(
                open_amount=ZERO, status=InvoiceStatus.PAID
            )
        for invoice, _ in paid:
            invoice.open_amount = ZERO
            invoice.status = InvoiceStatus.PAID

        events += [
            TimelineEvent(
                creditor=self.creditor,
                debtor_id=invoice.debtor_id,
                invoice=invoice,
                kind=TimelineKind.PAYMENT,
                at=_aware(paid_on),
                source=DEMO_SOURCE,
                summary=f"Betaling {format_money(invoice.total)} ontvangen voor {invoice.number}",
            )
            for invoice, paid_on in paid
        ]
        timeline.record_many(events)
        self.ledger.historic_payment_count += len(payments)


def _reference_reason(invoice: Invoice) -> str:
    """Return the match reason bank matching stores for a payment that quotes the invoice's reference."""
    return f"structured reference {invoice.payment_reference}"


def _aware(day: dt.date, hour: int = 9) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))
