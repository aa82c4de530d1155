"""Message context: the values a template may read about one message.

Templates see only these frozen dataclasses, never model instances, so a
user-edited template cannot follow a relation to another debtor's data or
call a method that writes to the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import phonenumbers
from babel import Locale
from django.conf import settings
from django.utils import timezone
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from betaalreis.channels.qr import is_structured_reference
from betaalreis.ledger.iban import compact_iban
from betaalreis.ledger.logos import stored_logo_path
from betaalreis.ledger.models import Allocation, Creditor, Debtor, DebtorKind, Invoice
from betaalreis.legal.claims import ClaimBreakdown as LegalClaimBreakdown
from betaalreis.legal.claims import CostsStatus
from betaalreis.legal.explain import payments_sentence
from betaalreis.legal.rates import Rate, RateKind
from betaalreis.legal.references import make_rf_reference

if TYPE_CHECKING:
    from betaalreis.dunning.models import Stage
    from betaalreis.outbox.models import Communication, CommunicationInvoice


# The stage code of a payment plan instalment reminder. Such a message requests
# the instalment amount, so its context carries the instalment.
INSTALMENT_REMINDER_STAGE = "instalment_reminder"
# Its Dutch name in timeline summaries and reports, which no policy gives because no policy has the stage.
INSTALMENT_REMINDER_NAME_NL = "Herinnering termijn betalingsregeling"


DUTCH_COUNTRY_CODE = 31

# A batch repeats the creditor's IBAN in every message, and parsing it is slow.
@lru_cache(maxsize=1024)
def format_iban(iban: str) -> str:
    """Return `iban` in groups of four, as printed on paper; unchanged if invalid."""
    try:
        return IBAN(iban).formatted
    except SchwiftyException:
        return iban


# A batch repeats the creditor's phone number in every message.
@lru_cache(maxsize=1024)
def format_phone(number: str, language: str) -> str:
    """Return a stored E.164 phone number as a reader of `language` expects it; unchanged if it does not parse.

    A Dutch text writes a Dutch number the national way ("020 123 4567"),
    and every other number, or any number in another language, in the
    international form ("+31 20 123 4567").
    """
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    if language == "nl" and parsed.country_code == DUTCH_COUNTRY_CODE:
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def format_reference(reference: str) -> str:
    """Group a payment reference in fours for reading aloud or typing: RF18 5390 0754 7034."""
    compact = reference.replace(" ", "")
    if compact.upper().startswith("RF") or (compact.isdigit() and len(compact) == 16):
        return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))
    return reference


@dataclass(frozen=True, slots=True)
class CreditorInfo:
    """The sender of a message, with its branding and bank details."""

    slug: str
    name: str
    legal_name: str
    iban: str
    bic: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = "NL"
    email: str = ""
    phone: str = ""
    website: str = ""
    kvk_number: str = ""
    vat_id: str = ""
    brand_color: str = "#1f4e79"
    logo_path: str = ""
    # Name of the collection agency that handed-over invoices go to, or "" when the creditor names none.
    handover_agency: str = ""

    @classmethod
    def from_model(cls, creditor: Creditor) -> CreditorInfo:
        return cls(
            slug=creditor.slug,
            name=creditor.display_name,
            legal_name=creditor.legal_name,
            iban=compact_iban(creditor.iban),
            bic=creditor.bic,
            street=creditor.street,
            postal_code=creditor.postal_code,
            city=creditor.city,
            country=creditor.country,
            email=creditor.email,
            phone=creditor.phone,
            website=creditor.website,
            kvk_number=creditor.kvk_number,
            vat_id=creditor.vat_id,
            brand_color=creditor.brand_color or "#1f4e79",
            logo_path=str(stored_logo_path(creditor.logo.name) or ""),
            handover_agency=creditor.handover_agency,
        )

    @property
    def iban_display(self) -> str:
        return format_iban(self.iban)

    def phone_for(self, language: str) -> str:
        """Return the phone number as a text in `language` prints it (see `format_phone`)."""
        return format_phone(self.phone, language) if self.phone else ""

    @property
    def logo_file(self) -> Path | None:
        """The logo as an existing file; a relative path is read under BETAALREIS_HOME."""
        if not self.logo_path:
            return None
        path = Path(self.logo_path)
        if not path.is_absolute():
            path = Path(settings.BETAALREIS_HOME) / path
        return path if path.is_file() else None


@dataclass(frozen=True, slots=True)
class DebtorInfo:
    """The recipient of a message and the addresses it can be reached on."""

    id: int
    customer_number: str
    name: str
    is_consumer: bool
    contact_person: str = ""
    email: str = ""
    extra_emails: tuple[str, ...] = ()
    mobile: str = ""
    phone: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = "NL"

    @classmethod
    def from_model(cls, debtor: Debtor) -> DebtorInfo:
        return cls(
            id=debtor.pk,
            customer_number=debtor.customer_number,
            name=debtor.name,
            is_consumer=debtor.kind == DebtorKind.CONSUMER,
            contact_person=debtor.contact_person,
            email=debtor.email,
            extra_emails=tuple(debtor.extra_emails or ()),
            mobile=debtor.mobile,
            phone=debtor.phone,
            street=debtor.street,
            postal_code=debtor.postal_code,
            city=debtor.city,
            country=debtor.country,
        )

    @property
    def greeting_name(self) -> str:
        """The name to address: the contact person at a business, else the debtor."""
        return self.contact_person or self.name

    @property
    def greets_organisation(self) -> bool:
        """Whether letters and emails open with the salutation for an organisation.

        True for a business without a contact person, because "Beste Klaas
        B.V.," would address a company name as if it were a person.
        """
        return not self.is_consumer and not self.contact_person


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One invoice listed in a message, with what is still open of it."""

    number: str
    # None when the invoice has no invoice date on record.
    issue_date: dt.date | None
    due_date: dt.date
    open_amount: Decimal
    currency: str = "EUR"
    total: Decimal | None = None
    description: str = ""
    payment_reference: str = ""
    days_overdue: int = 0

    @classmethod
    def from_model(cls, invoice: Invoice, on: dt.date, due_date: dt.date | None = None) -> InvoiceLine:
        """Snapshot `invoice`; `days_overdue` counts from the due date to `on` (negative before).

        `due_date` replaces the invoice's own due date, as for an invoice whose
        dunning restarted (see `betaalreis.dunning.reopening.dunning_due_dates`).
        """
        due_date = due_date or invoice.due_date
        return cls(
            days_overdue=(on - due_date).days,
            number=invoice.number,
            issue_date=invoice.issue_date,
            due_date=due_date,
            open_amount=invoice.open_amount,
            currency=invoice.currency,
            total=invoice.total,
            description=invoice.description,
            payment_reference=invoice.payment_reference,
        )


# The statement BIK art. 2 lid 3 requires beside collection costs with VAT.
COSTS_VAT_STATEMENTS = {
    "nl": (
        "In de incassokosten zit {vat} btw. Wij rekenen die btw, omdat wij voor de incasso een externe dienst "
        "inschakelen die ons btw in rekening brengt en wij die btw niet kunnen aftrekken."
    ),
    "en": (
        "The collection costs include {vat} VAT. We add that VAT because we use an outside collection service "
        "that charges us VAT, and we cannot deduct that VAT."
    ),
}


@dataclass(frozen=True, slots=True)
class ClaimBreakdown:
    """The claim as the legal engine computes it on the day the message goes out.

    Every amount a message shows comes from here: `principals` gives each
    invoice's line, with payments imputed to costs, then interest, then
    principal (BW 6:44). `total` is the sum of the printed lines: the
    principals, the interest and, when `costs_due`, the costs. While the
    costs are not yet owed (a consumer's 14-day term), `costs` is the amount
    that will be charged if the term passes unpaid, with `costs_vat` of VAT
    in it, and it is not part of `total`. `costs_if_unpaid` is what the
    costs come to in all if a 14-day term passes unpaid, including costs an
    earlier letter already made owed. `term_text` replaces the templates'
    wording of the 14-day payment term when set.
    """

    principal: Decimal
    interest: Decimal
    costs: Decimal
    total: Decimal
    currency: str = "EUR"
    costs_due: bool = False
    costs_vat: Decimal = Decimal("0.00")
    term_text: str = ""
    costs_due_from: dt.date | None = None
    costs_if_unpaid: Decimal = Decimal("0.00")
    costs_if_unpaid_vat: Decimal = Decimal("0.00")
    # How much `costs_if_unpaid` exceeds the costs owed now, with or without payments.
    costs_increase_if_unpaid: Decimal = Decimal("0.00")
    # Business claims carry the statutory commercial rate (wettelijke handelsrente).
    commercial_interest: bool = False
    # Unpaid principal per invoice number, in the claim's invoice order.
    principals: tuple[tuple[str, Decimal], ...] = ()
    # Limits of the computation, such as interest that starts at the rate
    # table, as sentences in Dutch and in English.
    notices_nl: tuple[str, ...] = ()
    notices_en: tuple[str, ...] = ()
    # Whether payments on these invoices were received, so part is already paid.
    partly_paid: bool = False
    # What those payments total, and the parts of it the claim applied to
    # interest and to collection costs before the principal (BW 6:44).
    paid: Decimal = Decimal("0.00")
    paid_to_interest: Decimal = Decimal("0.00")
    paid_to_costs: Decimal = Decimal("0.00")
    paid_to_principal: Decimal = Decimal("0.00")
    # The sentence naming the payments received and the order they were
    # applied in, in Dutch and in English; empty without payments.
    payments_nl: str = ""
    payments_en: str = ""
    # The interest rate table rows marked unconfirmed that the interest used.
    # They go to the run summary for the credit manager, never into the text.
    unconfirmed_rates: tuple[Rate, ...] = ()

    @classmethod
    def from_legal(cls, breakdown: LegalClaimBreakdown) -> ClaimBreakdown:
        """Take the amounts a message shows from `betaalreis.legal.claims.compute_claim`'s result."""
        costs = breakdown.costs
        costs_due = costs.status == CostsStatus.DUE
        principals = tuple((item.invoice_number, item.principal_outstanding) for item in breakdown.items)
        principal = sum((amount for _, amount in principals), Decimal("0.00"))
        interest = sum((item.interest_outstanding for item in breakdown.items), Decimal("0.00"))
        costs_line = costs.outstanding if costs_due else costs.if_unpaid
        return cls(
            principal=principal,
            interest=interest,
            costs=costs_line,
            costs_vat=costs.vat if costs_due else costs.if_unpaid_vat,
            costs_due=costs_due,
            total=principal + interest + (costs_line if costs_due else Decimal("0.00")),
            currency=breakdown.currency,
            costs_due_from=costs.due_from,
            costs_if_unpaid=costs.if_unpaid,
            costs_if_unpaid_vat=costs.if_unpaid_vat,
            costs_increase_if_unpaid=costs.if_unpaid - costs.total,
            commercial_interest=breakdown.interest_kind == RateKind.COMMERCIAL,
            principals=principals,
            notices_nl=breakdown.notices("nl"),
            notices_en=breakdown.notices("en"),
            partly_paid=any(payment.amount > 0 for payment in breakdown.payments),
            paid=sum((payment.amount for payment in breakdown.payments), Decimal("0.00")),
            paid_to_interest=sum((payment.to_interest for payment in breakdown.payments), Decimal("0.00")),
            paid_to_costs=sum((payment.to_costs for payment in breakdown.payments), Decimal("0.00")),
            paid_to_principal=sum((payment.to_principal for payment in breakdown.payments), Decimal("0.00")),
            payments_nl=payments_sentence(breakdown, "nl"),
            payments_en=payments_sentence(breakdown, "en"),
            unconfirmed_rates=breakdown.unconfirmed_rates(),
        )

    @property
    def paid_to_charges(self) -> Decimal:
        """Return what payments paid of interest and collection costs instead of principal."""
        return self.paid_to_interest + self.paid_to_costs

    @property
    def costs_outstanding(self) -> Decimal:
        """Return the collection costs owed and unpaid today: `costs` once owed, else zero."""
        return self.costs if self.costs_due else Decimal("0.00")

    @property
    def principal_charged(self) -> Decimal:
        """Return the principal before payments: the unpaid principal plus what payments paid of it."""
        return self.principal + self.paid_to_principal

    @property
    def interest_charged(self) -> Decimal:
        """Return the interest counted so far: the unpaid interest plus what payments paid of it."""
        return self.interest + self.paid_to_interest

    @property
    def costs_charged(self) -> Decimal:
        """Return the collection costs owed so far: the unpaid costs plus what payments paid of them."""
        return self.costs_outstanding + self.paid_to_costs

    @property
    def charged(self) -> Decimal:
        """Return principal, interest and costs before payments, so `charged - paid_applied == total`."""
        return self.principal_charged + self.interest_charged + self.costs_charged

    @property
    def paid_applied(self) -> Decimal:
        """Return what payments paid of costs, interest and principal.

        It is below `paid` only when payments exceed the whole claim, and the
        remainder is then the debtor's credit.
        """
        return self.paid_to_costs + self.paid_to_interest + self.paid_to_principal

    def costs_vat_statement(self, language: str) -> str:
        """Return the sentence that names the VAT in the owed collection costs and its reason, or "" without it.

        BIK art. 2 lid 3 allows VAT on the costs only when an outside
        collection service charged it, the creditor cannot deduct it, and the
        creditor states this to the debtor. So every message that prints owed
        costs with VAT prints this sentence beside them.
        """
        if not self.costs_due or self.costs_vat <= 0:
            return ""

        # Imported here because the templating module imports this one.
        from betaalreis.channels.render.templating import format_amount

        vat = format_amount(self.costs_vat, self.currency, language)
        return COSTS_VAT_STATEMENTS.get(language, COSTS_VAT_STATEMENTS["en"]).format(vat=vat)

    def principal_of(self, invoice_number: str) -> Decimal | None:
        """Return the unpaid principal of one invoice, or None when the claim does not list it."""
        for number, amount in self.principals:
            if number == invoice_number:
                return amount
        return None


@dataclass(frozen=True, slots=True)
class InstalmentInfo:
    """The payment plan instalment a message requests, in place of the whole open amount."""

    number: int
    terms: int
    amount: Decimal
    due_date: dt.date


@dataclass(frozen=True, slots=True)
class MessageContext:
    """Everything one message to one debtor on one stage is rendered from.

    `template` names the template folder (the stage's `template`, else its
    code). `payment_reference` is the one reference for the whole message:
    the debtor pays all listed invoices with one transfer.
    """

    creditor: CreditorInfo
    debtor: DebtorInfo
    stage_code: str
    stage_name: str
    language: str
    invoices: tuple[InvoiceLine, ...]
    total_due: Decimal
    currency: str
    payment_reference: str
    portal_url: str
    idempotency_key: str
    date: dt.date
    template: str = ""
    short_url: str = ""
    attach_letter: bool = False
    is_fourteen_day_letter: bool = False
    claim: ClaimBreakdown | None = None
    communication_id: int | None = None
    instalment: InstalmentInfo | None = None
    # The run date that planned the communication; `date` is the day it goes out.
    planned_on: dt.date | None = None
    # True when every listed invoice was in an earlier message sent to the
    # debtor, so the text may state that we asked before.
    reminded_before: bool = False
    # True when the debtor paid another invoice named in a sent message with
    # one of these, so the text must not say that no payment was received.
    paid_on_claim: bool = False

    @property
    def template_folder(self) -> str:
        return self.template or self.stage_code

    @property
    def amount_due(self) -> Decimal:
        """What the debtor is asked to pay: the instalment, else the claim total, else the open invoices."""
        if self.instalment is not None:
            return self.instalment.amount
        return self.claim.total if self.claim is not None else self.total_due

    @property
    def partly_paid(self) -> bool:
        """Whether part of the listed invoices is already paid, so the text may state "not paid in full".

        With a claim, this is whether payments were booked on its invoices.
        Without one, an invoice whose open amount is below its total counts,
        which also includes an amount reduced by a credit note. A payment on
        another invoice of the same claim (`paid_on_claim`) counts as well.
        """
        if self.paid_on_claim:
            return True
        if self.claim is not None:
            return self.claim.partly_paid
        return any(line.total is not None and line.open_amount < line.total for line in self.invoices)

    @property
    def is_overdue(self) -> bool:
        """Whether any listed invoice is past its due date on the message date."""
        return any(line.days_overdue > 0 for line in self.invoices)

    @classmethod
    def from_communication(
        cls,
        communication: Communication,
        items: Sequence[CommunicationInvoice],
        stage: Stage | None,
        *,
        portal_url: str,
        claim: ClaimBreakdown | None = None,
        short_url: str = "",
        on: dt.date | None = None,
        reminded_before: bool = False,
    ) -> MessageContext:
        """Build the context of a planned communication from its still-due items.

        With a `claim`, each invoice line shows the claim's unpaid principal
        of that invoice. Without one it shows the invoice's current open
        amount, which is never more than what was planned. An invoice whose
        dunning restarted shows the due date of its reopened amount. `on` is the date
        the message carries, by default the run date. `stage` may be None
        when the policy no longer has the stage, and the code is then used
        as the name. `reminded_before` comes from
        `betaalreis.outbox.history.reminded_before`.
        """
        from betaalreis.dunning.reopening import dunning_due_dates

        day = on or communication.run_date or timezone.localdate()
        invoices = [item.invoice for item in items]
        due_dates = dunning_due_dates(invoices)
        lines = tuple(
            _claim_line(InvoiceLine.from_model(invoice, day, due_dates[invoice.pk]), claim) for invoice in invoices
        )
        total = sum((line.open_amount for line in lines), Decimal("0.00"))
        language = communication.language or communication.debtor.language
        instalment = None
        if communication.stage == INSTALMENT_REMINDER_STAGE:
            from betaalreis.payments.reminders import instalment_for_communication

            instalment = instalment_for_communication(communication)

        return cls(
            creditor=CreditorInfo.from_model(communication.creditor),
            debtor=DebtorInfo.from_model(communication.debtor),
            stage_code=communication.stage,
            stage_name=stage.name_for(language) if stage is not None else communication.stage,
            language=language,
            invoices=lines,
            total_due=total,
            currency=communication.currency,
            payment_reference=message_payment_reference(communication.debtor, invoices),
            portal_url=portal_url,
            short_url=short_url,
            idempotency_key=communication.idempotency_key,
            date=day,
            template=stage.template_name if stage is not None else "",
            attach_letter=bool(stage and stage.attach_letter),
            is_fourteen_day_letter=bool(stage and stage.is_fourteen_day_letter),
            claim=claim,
            communication_id=communication.pk,
            instalment=instalment,
            planned_on=communication.run_date,
            reminded_before=reminded_before,
            paid_on_claim=bool(stage and stage.states_claim) and _paid_on_claim(communication, invoices),
        )


def _paid_on_claim(communication: Communication, invoices: Sequence[Invoice]) -> bool:
    """Return whether the debtor paid an invoice that a sent message named together with one of `invoices`.

    Such invoices make up one claim: a later stage may list only those still
    open, after the debtor paid the others. One query.
    """
    from betaalreis.outbox.models import CommunicationInvoice, CommunicationStatus

    listed = [invoice.pk for invoice in invoices]
    sent_with_listed = CommunicationInvoice.objects.filter(
        invoice_id__in=listed,
        communication__debtor_id=communication.debtor_id,
        communication__status=CommunicationStatus.SENT,
    ).values("communication_id")
    named_together = CommunicationInvoice.objects.filter(communication_id__in=sent_with_listed).values("invoice_id")
    return (
        Allocation.objects.filter(
            creditor_id=communication.creditor_id,
            invoice_id__in=named_together,
            payment__isnull=False,
            amount__gt=0,
        )
        .exclude(invoice_id__in=listed)
        .exists()
    )


def _claim_line(line: InvoiceLine, claim: ClaimBreakdown | None) -> InvoiceLine:
    """Return `line` with the claim's unpaid principal of the invoice as its open amount."""
    principal = claim.principal_of(line.number) if claim is not None else None
    if principal is None:
        return line
    return replace(line, open_amount=principal)


def debtor_payment_reference(debtor: Debtor | int) -> str:
    """Return the debtor's RF reference, the same on every message: RF + check + "D" + id."""
    debtor_id = debtor if isinstance(debtor, int) else debtor.pk
    return make_rf_reference(f"D{debtor_id}")


def message_payment_reference(debtor: Debtor | int, invoices: Iterable[Invoice]) -> str:
    """Return the reference a debtor quotes to pay everything a message lists.

    One invoice with a structured reference (RF or betalingskenmerk) keeps
    its own reference, so the bank match finds that invoice directly.
    Otherwise the debtor's RF reference is used and the payment is applied
    to the debtor's open invoices, oldest due date first.
    """
    invoices = list(invoices)
    if len(invoices) == 1 and invoices[0].payment_reference:
        reference = invoices[0].payment_reference
        if is_structured_reference(reference):
            return reference.replace(" ", "").upper()
    return debtor_payment_reference(debtor)


def address_lines(context: MessageContext) -> list[str]:
    """Return the postal address block: name, attention line, street, postcode and city, country."""
    debtor = context.debtor
    lines = [debtor.name]
    if debtor.contact_person and debtor.contact_person != debtor.name:
        attention = "t.a.v." if context.language == "nl" else "Attn."
        lines.append(f"{attention} {debtor.contact_person}")
    lines.append(debtor.street)
    # Dutch practice puts two spaces between postcode and city.
    lines.append(f"{debtor.postal_code}  {debtor.city}".strip())
    if debtor.country and debtor.country != context.creditor.country:
        # Post abroad names the destination country in capitals, in the
        # language of the sending country.
        sender_language = "nl" if context.creditor.country == "NL" else "en"
        territories = Locale.parse(sender_language).territories
        lines.append(territories.get(debtor.country, debtor.country).upper())
    return [line for line in lines if line]
