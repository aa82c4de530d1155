"""Turn a `MessageContext` into an `OutgoingMessage` for one channel."""

from __future__ import annotations

import datetime as dt
import logging
import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import jinja2
from django.conf import settings
from django.urls import Resolver404, resolve

from betaalreis.channels.base import Attachment, ChannelError, OutgoingMessage
from betaalreis.channels.gsm import measure_sms, to_gsm7
from betaalreis.channels.pdf.letter import UNPRINTABLE_NAME, LetterContent, render_letter_pdf
from betaalreis.channels.render.context import MessageContext, address_lines, format_reference
from betaalreis.channels.render.templating import (
    TemplateBlocks,
    TemplateError,
    environment_for,
    find_template,
    format_amount,
    format_short_date,
    render_template,
)
from betaalreis.channels.webhooks.email import reply_address
from betaalreis.errors import InvalidInput
from betaalreis.ledger.logos import logo_content_type
from betaalreis.ledger.models import Debtor

logger = logging.getLogger(__name__)

CHANNELS = ("email", "sms", "letter", "phone", "whatsapp")

_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_DEFAULT_COLOUR = "#1f4e79"

# The payment term of the fourteen-day letter when the claim breakdown
# brings no wording of its own: it runs from the day after receipt.
FOURTEEN_DAY_TERMS = {
    "nl": "binnen veertien dagen na de dag waarop u deze brief heeft ontvangen",
    "en": "within fourteen days after the day on which you received this letter",
}


# Short sentences on what a debtor paid, for SMS and WhatsApp, where the
# claim lines of a letter or email do not fit. Other languages get English,
# as templates do.
PAYMENT_NOTES = {
    "nl": {
        "received": "Wij ontvingen {amount} van u.",
        "went_first_to": "Dat ging eerst naar {parts}.",
        "costs_and_interest": "kosten en rente",
        "costs": "kosten",
        "interest": "rente",
        "not_in_full": "Wij ontvingen nog niet het volledige bedrag.",
        "nothing": "Wij ontvingen nog geen betaling.",
    },
    "en": {
        "received": "We received {amount} from you.",
        "went_first_to": "It went to {parts} first.",
        "costs_and_interest": "costs and interest",
        "costs": "costs",
        "interest": "interest",
        "not_in_full": "We have not received the full amount yet.",
        "nothing": "We have not received a payment yet.",
    },
}


def _paragraphs(text: str) -> list[str]:
    """Split rendered text on blank lines; lines inside a paragraph join with a space."""
    blocks = re.split(r"\n\s*\n", text.strip())
    return [" ".join(line.strip() for line in block.splitlines()) for block in blocks if block.strip()]


def payment_note(context: MessageContext) -> str:
    """Return one or two short sentences on the payments received on the message's claim, or "" without any.

    The amount is the claim's `paid`. When the payments paid collection
    costs or interest before the principal (art. 6:44 BW), the note states
    it, because the amount still open then went down by less than was paid. A
    message without a claim gets "", because its open amounts do not tell a
    payment from a credit note.
    """
    claim = context.claim
    if claim is None or claim.paid <= 0:
        return ""

    texts = PAYMENT_NOTES.get(context.language, PAYMENT_NOTES["en"])
    note = texts["received"].format(amount=format_amount(claim.paid, claim.currency, context.language))
    if claim.paid_to_costs > 0 and claim.paid_to_interest > 0:
        parts = texts["costs_and_interest"]
    elif claim.paid_to_costs > 0:
        parts = texts["costs"]
    elif claim.paid_to_interest > 0:
        parts = texts["interest"]
    else:
        return note
    return f"{note} {texts['went_first_to'].format(parts=parts)}"


def payment_status(context: MessageContext) -> str:
    """Return the sentence on what the debtor paid for a WhatsApp template value, which must not be empty.

    It is `payment_note`, else a sentence that the full amount or any
    payment has not been received yet, by `MessageContext.partly_paid`.
    """
    note = payment_note(context)
    if note:
        return note
    texts = PAYMENT_NOTES.get(context.language, PAYMENT_NOTES["en"])
    return texts["not_in_full"] if context.partly_paid else texts["nothing"]


def template_variables(context: MessageContext) -> dict[str, Any]:
    """Return the variables every message template can use."""
    claim = context.claim
    language = context.language
    brand_color = context.creditor.brand_color
    if not _HEX_COLOUR.match(brand_color):
        brand_color = _DEFAULT_COLOUR

    return {
        "creditor": context.creditor,
        "debtor": context.debtor,
        "stage_code": context.stage_code,
        "stage_name": context.stage_name,
        "language": language,
        "invoices": context.invoices,
        "invoice_count": len(context.invoices),
        "total_due": context.total_due,
        "amount_due": context.amount_due,
        "currency": context.currency,
        "principal": claim.principal if claim is not None else context.total_due,
        "claim": claim,
        "fourteen_day_term": (claim.term_text if claim and claim.term_text else
                              FOURTEEN_DAY_TERMS.get(language, FOURTEEN_DAY_TERMS["en"])),
        "payment_reference": context.payment_reference,
        "payment_reference_display": format_reference(context.payment_reference),
        "portal_url": context.portal_url,
        "sms_url": context.short_url or context.portal_url,
        "letter_url": letter_url(context),
        "date": context.date,
        "is_overdue": context.is_overdue,
        "max_days_overdue": max((line.days_overdue for line in context.invoices), default=0),
        "attach_letter": context.attach_letter,
        # True in an email whose stage attaches the letter PDF but whose debtor's name the letter font cannot print.
        "letter_unattached": False,
        "is_fourteen_day_letter": context.is_fourteen_day_letter,
        "brand_color": brand_color,
        "instalment": context.instalment,
        "reminded_before": context.reminded_before,
        "partly_paid": context.partly_paid,
        "payment_note": payment_note(context),
    }


def _template(context: MessageContext, channel: str, part: str, *, html: bool = False) -> jinja2.Template:
    env = environment_for(context.creditor.slug, html=html)
    return find_template(env, context.template_folder, channel, context.language, part)


def _metadata(context: MessageContext, **extra: Any) -> dict[str, Any]:
    metadata = {
        "date": context.date.isoformat(),
        "stage": context.stage_code,
        "communication_id": context.communication_id,
        "total_due": str(context.total_due),
        "amount_due": str(context.amount_due),
        "currency": context.currency,
        "payment_reference": context.payment_reference,
        "invoice_numbers": [line.number for line in context.invoices],
        **extra,
    }
    if context.planned_on is not None:
        metadata["planned_on"] = context.planned_on.isoformat()
    if context.claim is not None:
        metadata["claim"] = _claim_metadata(context)
    return metadata


def _claim_metadata(context: MessageContext) -> dict[str, Any]:
    """Return the claim's printed lines and notices: the record of what the message demanded."""
    claim = context.claim
    assert claim is not None
    return {
        "principal": str(claim.principal),
        "interest": str(claim.interest),
        "costs": str(claim.costs),
        "costs_vat": str(claim.costs_vat),
        "costs_due": claim.costs_due,
        "total": str(claim.total),
        "principals": {number: str(amount) for number, amount in claim.principals},
        "notices": {"nl": list(claim.notices_nl), "en": list(claim.notices_en)},
        "unconfirmed_rates": [
            {
                "kind": str(rate.kind),
                "from": rate.valid_from.isoformat(),
                "until": rate.valid_until.isoformat() if rate.valid_until else None,
                "percent": str(rate.percent),
            }
            for rate in claim.unconfirmed_rates
        ],
    }


def _message(context: MessageContext, channel: str, **fields: Any) -> OutgoingMessage:
    return OutgoingMessage(
        idempotency_key=context.idempotency_key,
        channel=channel,
        creditor_slug=context.creditor.slug,
        debtor_id=context.debtor.id,
        language=context.language,
        sender_name=context.creditor.name,
        **fields,
    )


def _require_recipient(context: MessageContext, present: bool, missing: str) -> None:
    if not present:
        raise InvalidInput(
            f"Debtor {context.debtor.customer_number} has no {missing}; "
            "add it or choose another channel.",
            code="missing_recipient",
        )


def _subject(blocks: TemplateBlocks) -> str:
    subject = " ".join(blocks.render("subject").split())
    if not subject:
        raise TemplateError(
            f"Template {blocks.template.filename} has an empty subject block; add {{% block subject %}}.",
            code="template_missing_subject",
        )
    return subject


def letter_url(context: MessageContext) -> str:
    """Return the sign-in link a letter prints: the short link when the context has one."""
    return context.short_url or context.portal_url


def letter_content(context: MessageContext) -> LetterContent:
    """Render the letter template of the context into the pieces the PDF prints."""
    variables = template_variables(context)
    template = _template(context, "letter", "txt")
    custom_payment = "payment" in template.blocks
    blocks = TemplateBlocks(template, variables)

    return LetterContent(
        subject=_subject(blocks),
        intro=_paragraphs(blocks.render("intro")),
        closing=_paragraphs(blocks.render("closing")),
        payment=_paragraphs(blocks.render("payment")) if custom_payment else None,
        text=render_template(template, variables),
    )


def _letter_pdf(context: MessageContext, content: LetterContent) -> Attachment:
    pdf = render_letter_pdf(context, content)
    filename = f"{context.stage_code}-{context.debtor.customer_number or context.debtor.id}.pdf"
    return Attachment(filename=re.sub(r"[^A-Za-z0-9._-]", "_", filename), content=pdf,
                      mimetype="application/pdf")


def _reply_to(context: MessageContext) -> str:
    """Return the Reply-To: the debtor's inbound address if a domain is set, else the creditor."""
    domain = settings.BETAALREIS_INBOUND_EMAIL_DOMAIN
    if not domain:
        return context.creditor.email

    # reply_address reads only the primary key, so an unsaved instance with
    # the debtor's key is enough and rendering needs no query.
    return reply_address(Debtor(pk=context.debtor.id), domain)


def _email_letter(context: MessageContext) -> Attachment | None:
    """Render the letter PDF that the stage attaches to its email, or None when the font cannot print the name.

    The email body carries the letter's text, so a name in a script that the
    letter font lacks (Chinese or Arabic, for example) still gets the
    message. The template then states that the PDF is not attached.
    """
    try:
        return _letter_pdf(context, letter_content(context))
    except ChannelError as exc:
        if exc.code != UNPRINTABLE_NAME:
            raise
    logger.info(
        "letter pdf left out of email",
        extra={"debtor_id": context.debtor.id, "communication_id": context.communication_id},
    )
    return None


def _render_email(context: MessageContext) -> OutgoingMessage:
    _require_recipient(context, bool(context.debtor.email), "email address")
    letter = _email_letter(context) if context.attach_letter else None
    variables = template_variables(context)
    variables["attach_letter"] = letter is not None
    variables["letter_unattached"] = context.attach_letter and letter is None
    text_template = _template(context, "email", "txt")
    text_blocks = TemplateBlocks(text_template, variables)
    subject = _subject(text_blocks)
    text = render_template(text_template, variables)

    attachments: list[Attachment] = []
    logo = context.creditor.logo_file
    logo_cid = ""
    if logo is not None:
        logo_cid = "logo"
        mimetype = logo_content_type(logo) or "image/jpeg"
        attachments.append(
            Attachment(filename=logo.name, content=logo.read_bytes(), mimetype=mimetype, content_id=logo_cid)
        )

    custom_payment = "payment" in text_template.blocks
    html_variables = {
        **variables,
        "subject": subject,
        "logo_cid": logo_cid,
        "intro_paragraphs": _paragraphs(text_blocks.render("intro")),
        "closing_paragraphs": _paragraphs(text_blocks.render("closing")),
        "payment_paragraphs": _paragraphs(text_blocks.render("payment")) if custom_payment else None,
    }
    html = render_template(_template(context, "email", "html", html=True), html_variables)

    if letter is not None:
        attachments.append(letter)

    return _message(
        context,
        "email",
        recipient=context.debtor.email,
        cc=context.debtor.extra_emails,
        subject=subject,
        text=text,
        html=html,
        reply_to=_reply_to(context),
        attachments=tuple(attachments),
        metadata=_metadata(context),
    )


def _render_sms(context: MessageContext) -> OutgoingMessage:
    _require_recipient(context, bool(context.debtor.mobile), "mobile number")
    variables = template_variables(context)
    raw = render_template(_template(context, "sms", "txt"), variables)

    # One line, GSM-7 where a plain stand-in exists: a single "ë" would
    # otherwise make the whole message UCS-2 and double its parts.
    text = to_gsm7(" ".join(raw.split()))
    measured = measure_sms(text)

    return _message(
        context,
        "sms",
        recipient=context.debtor.mobile,
        text=text,
        metadata=_metadata(
            context, encoding=measured.encoding, units=measured.units, segments=measured.segments
        ),
    )


def whatsapp_template_values(context: MessageContext) -> dict[str, str]:
    """Return the values an approved WhatsApp template can put in its body variables, by name.

    `WhatsAppTemplate.body_parameters` picks from these names. Meta approves
    a template per language, so amounts and dates use the message language.
    """
    language = context.language
    first_due_date = min(line.due_date for line in context.invoices)

    return {
        "debtor_name": context.debtor.name,
        "invoice_numbers": ", ".join(line.number for line in context.invoices),
        "total": format_amount(context.amount_due, context.currency, language),
        "due_date": format_short_date(first_due_date, language),
        "creditor_name": context.creditor.name,
        "payments": payment_status(context),
    }


def portal_link_suffix(portal_url: str) -> str:
    """Return the end of a portal sign-in link after `/p/`: the token and the closing slash.

    A WhatsApp template's URL button is approved once at Meta as
    `<BETAALREIS_BASE_URL>/p/{{1}}`, and each message fills in this suffix.
    Raises InvalidInput when `portal_url` is not a portal sign-in link.
    """
    base_url = settings.BETAALREIS_BASE_URL.rstrip("/")
    if portal_url.startswith(base_url + "/"):
        path = portal_url.removeprefix(base_url)
    else:
        path = urlsplit(portal_url).path

    try:
        match = resolve(path)
    except Resolver404:
        match = None
    if match is None or match.view_name != "portal:account":
        # The error leaves the link out because the link signs the debtor in.
        raise InvalidInput(
            "The message's portal link is not a portal sign-in link (/p/<token>/), so a "
            "WhatsApp payment button cannot point to it. Build it with portal_url(debtor).",
            code="invalid_portal_link",
        )
    return f"{match.kwargs['token']}/"


def _render_whatsapp(context: MessageContext) -> OutgoingMessage:
    # Opt-in, the creditor's WhatsApp switch and the approved template are
    # checked by the WhatsApp adapter at send time, because they can change
    # between rendering and sending.
    _require_recipient(context, bool(context.debtor.mobile), "mobile number")
    variables = template_variables(context)
    raw = render_template(_template(context, "whatsapp", "txt"), variables)

    # The text is the record of the message in the outbox and on the
    # timeline. WhatsApp itself shows the approved template filled with
    # `template_values`, never this text.
    text = "\n".join(line.strip() for line in raw.strip().splitlines())

    return _message(
        context,
        "whatsapp",
        recipient=context.debtor.mobile,
        text=text,
        metadata=_metadata(
            context,
            template_values=whatsapp_template_values(context),
            payment_link_suffix=portal_link_suffix(context.portal_url),
        ),
    )


def _render_letter(context: MessageContext) -> OutgoingMessage:
    debtor = context.debtor
    _require_recipient(context, bool(debtor.street and debtor.postal_code and debtor.city),
                       "complete postal address (street, postcode and city)")
    content = letter_content(context)
    attachment = _letter_pdf(context, content)

    return _message(
        context,
        "letter",
        recipient="\n".join(address_lines(context)),
        subject=content.subject,
        text=content.text,
        attachments=(attachment,),
        metadata=_metadata(context),
    )


def _money_text(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _call_task_amounts(context: MessageContext) -> dict[str, str]:
    """Return the unpaid principal, interest, collection costs and total for a call task, and with a claim its payments.

    Without a claim the open invoices are all principal. The total is the
    claim's, which differs from the task's "amount" only for a payment plan
    instalment.
    """
    claim = context.claim
    if claim is None:
        return {
            "principal": _money_text(context.total_due),
            "interest": _money_text(Decimal("0.00")),
            "collection_costs": _money_text(Decimal("0.00")),
            "total": _money_text(context.total_due),
        }
    return {
        "principal": _money_text(claim.principal),
        "interest": _money_text(claim.interest),
        "collection_costs": _money_text(claim.costs_outstanding),
        "total": _money_text(claim.total),
        "paid": _money_text(claim.paid),
    }


def _render_phone(context: MessageContext) -> OutgoingMessage:
    numbers = [number for number in (context.debtor.phone, context.debtor.mobile) if number]
    _require_recipient(context, bool(numbers), "phone number")
    variables = template_variables(context)
    blocks = TemplateBlocks(_template(context, "phone", "txt"), variables)
    reason = " ".join(blocks.render("reason").split())
    script = [line.strip() for line in blocks.render("script").splitlines() if line.strip()]

    task = {
        "creditor": context.creditor.slug,
        "debtor": {
            "id": context.debtor.id,
            "customer_number": context.debtor.customer_number,
            "name": context.debtor.name,
            "contact_person": context.debtor.contact_person,
            "is_consumer": context.debtor.is_consumer,
        },
        "phone_numbers": list(dict.fromkeys(numbers)),
        "language": context.language,
        "stage": context.stage_code,
        "reason": reason,
        "amount": _money_text(context.amount_due),
        **_call_task_amounts(context),
        "currency": context.currency,
        "payment_reference": context.payment_reference,
        "invoices": [
            {
                "number": line.number,
                "issue_date": line.issue_date.isoformat() if line.issue_date is not None else None,
                "due_date": line.due_date.isoformat(),
                "days_overdue": line.days_overdue,
                "open_amount": _money_text(line.open_amount),
                "currency": line.currency,
            }
            for line in context.invoices
        ],
        "script": script,
        "portal_url": context.portal_url,
    }

    return _message(
        context,
        "phone",
        recipient=numbers[0],
        subject=reason,
        text="\n".join(script),
        metadata=_metadata(context, call_task=task),
    )


_RENDERERS = {
    "email": _render_email,
    "sms": _render_sms,
    "letter": _render_letter,
    "phone": _render_phone,
    "whatsapp": _render_whatsapp,
}


def render_message(context: MessageContext, channel: str) -> OutgoingMessage:
    """Render `context` for `channel` into a message ready for `get_backend(channel).send`.

    Raises InvalidInput (code missing_recipient) when the debtor cannot be
    reached on the channel, and TemplateError when a template is missing,
    unsafe or fails.
    """
    renderer = _RENDERERS.get(channel)
    if renderer is None:
        raise InvalidInput(
            f"Channel {channel!r} has no renderer; use one of {', '.join(CHANNELS)}.",
            code="unknown_channel",
        )
    if not context.invoices:
        raise InvalidInput(
            f"Message {context.idempotency_key} lists no invoices; a message without an invoice is not sent.",
            code="empty_message",
        )
    return renderer(context)


