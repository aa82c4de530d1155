"""Rendering messages from templates: `render_message(context, channel)`."""

from betaalreis.channels.render.context import (
    ClaimBreakdown,
    CreditorInfo,
    DebtorInfo,
    InvoiceLine,
    MessageContext,
    debtor_payment_reference,
    message_payment_reference,
)
from betaalreis.channels.render.message import letter_content, render_message, template_variables
from betaalreis.channels.render.templating import TemplateError

__all__ = [
    "ClaimBreakdown",
    "CreditorInfo",
    "DebtorInfo",
    "InvoiceLine",
    "MessageContext",
    "TemplateError",
    "debtor_payment_reference",
    "letter_content",
    "message_payment_reference",
    "render_message",
    "template_variables",
]
