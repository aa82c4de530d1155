"""The only module that talks to the WhatsApp Business Cloud API.

Sends approved utility templates only: a message to a debtor outside a
24-hour customer service window may only be a template, and a payment
reminder is a utility template. Wire format: POST
/{version}/{phone-number-id}/messages with a Bearer token and a JSON body
of messaging_product, recipient_type, to, type "template" and template
(name, language.code, components with body parameters and a URL button).

Before a message goes out, the adapter checks three things. The creditor
switched WhatsApp on and is not a collection agency. The debtor opted in for
their current number. The stage's template was verified as an approved
utility template at Meta (`do_verify_template`).
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from betaalreis.channels.accounts import ProviderAccount
from betaalreis.channels.base import ChannelError, OutgoingMessage
from betaalreis.channels.consent import has_opt_in, whatsapp_allowed
from betaalreis.channels.models import Delivery, WhatsAppTemplate
from betaalreis.channels.providers import (
    RecipientInvalid,
    Submission,
    TemporaryFailure,
    UncertainOutcome,
    VendorBackend,
)
from betaalreis.channels.whatsapp_templates import find_template
from betaalreis.dunning.reopening import dunning_due_dates
from betaalreis.ledger.models import Creditor, Debtor
from betaalreis.ledger.money import format_money
from betaalreis.outbox.models import Communication

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v21.0"

# Graph API error codes for WhatsApp: 130429 throughput exceeded, 131056
# too many messages to one user in a short time (pair rate), 131026 message
# undeliverable (for example no WhatsApp account on the number), 132001
# template does not exist, 190 access token expired or invalid.
RATE_LIMIT_CODES = frozenset({130429, 131056, 80007})
UNDELIVERABLE_CODE = 131026
TEMPLATE_MISSING_CODE = 132001
AUTH_CODE = 190

# Values a template's body variables can take, by name. `template_values_for`
# has no claim, so it leaves out "payments" (the payment sentence).
TEMPLATE_VALUE_NAMES = ("debtor_name", "invoice_numbers", "total", "due_date", "creditor_name", "payments")


def template_values_for(communication: Communication) -> dict[str, str]:
    """Return the named values a WhatsApp template can show for a communication."""
    items = list(
        communication.items.select_related("invoice", "invoice__dunning_restart").order_by(
            "invoice__due_date", "invoice__number"
        )
    )
    due_dates = list(dunning_due_dates([item.invoice for item in items]).values())
    return {
        "debtor_name": communication.debtor.name,
        "invoice_numbers": ", ".join(item.invoice.number for item in items),
        "total": format_money(communication.total_amount, communication.currency),
        "due_date": min(due_dates).strftime("%d-%m-%Y") if due_dates else "",
        "creditor_name": communication.creditor.display_name,
    }


def _graph_base(account: ProviderAccount) -> str:
    base = str(account.option("api_base", DEFAULT_API_BASE)).rstrip("/")
    return f"{base}/{account.option('api_version', DEFAULT_API_VERSION)}"


class WhatsAppCloudBackend(VendorBackend):
    channel = "whatsapp"
    provider = "whatsapp_cloud"
    # Meta's default throughput per business phone number, inbound and
    # outbound together.
    default_rate_per_second = 80.0

    def submit(self, message: OutgoingMessage, account: ProviderAccount, delivery: Delivery) -> Submission:
        creditor = Creditor.objects.get(slug=message.creditor_slug)
        if not whatsapp_allowed(creditor):
            raise ChannelError(
                f"WhatsApp is off for creditor {creditor.slug!r} (switched off, or a "
                "collection agency, which WhatsApp's business policy does not allow).",
                permanent=True, code="whatsapp_not_allowed",
            )
        debtor = Debtor.objects.get(pk=message.debtor_id, creditor=creditor)
        if not has_opt_in(debtor, "whatsapp"):
            raise ChannelError(
                f"Debtor {debtor.customer_number} has not opted in to WhatsApp for "
                "their current number.",
                permanent=True, code="whatsapp_no_opt_in",
            )

        communication = Communication.objects.filter(idempotency_key=message.idempotency_key).first()
        stage = message.metadata.get("stage") or (communication.stage if communication else "")
        template = _usable_template(creditor, stage, message.language)
        values = message.metadata.get("template_values") or (
            template_values_for(communication) if communication else {}
        )
        payload = _template_payload(message, template, values)

        response = self.request(
            account, "POST", f"{_graph_base(account)}/{account.required('phone_number_id')}/messages",
            json=payload, headers={"Authorization": f"Bearer {account.secret('access_token')}"},
        )
        body = _json(response)
        if response.status_code == 200 and body.get("messages"):
            return Submission(
                provider_reference=str(body["messages"][0]["id"]),
                cost=account.decimal("price_per_message"),
                cost_currency=str(account.option("currency", "EUR")),
            )

        raise _rejection(response.status_code, body)


def _usable_template(creditor: Creditor, stage: str, language: str) -> WhatsAppTemplate:
    template = find_template(creditor.pk, stage, language)
    if template is None:
        raise ChannelError(
            f"No WhatsApp template for stage {stage!r} in language {language!r} of creditor "
            f"{creditor.slug!r}. Add one and verify it before the stage uses WhatsApp.",
            permanent=True, code="whatsapp_template_missing",
        )
    if not template.is_usable:
        raise ChannelError(
            f"WhatsApp template {template.name!r} ({template.language}) is not verified as an "
            f"approved utility template (status {template.status or 'unknown'}, category "
            f"{template.category or 'unknown'}). Run the template check first.",
            permanent=True, code="whatsapp_template_unverified",
        )
    return template


def _template_payload(message: OutgoingMessage, template: WhatsAppTemplate, values: dict) -> dict:
    missing = [name for name in template.body_parameters if not values.get(name)]
    if missing:
        raise ChannelError(
            f"WhatsApp template {template.name!r} needs the values {missing}, which the "
            "message does not have.",
            permanent=True, code="whatsapp_template_value_missing",
        )

    components: list[dict] = []
    if template.body_parameters:
        components.append({
            "type": "body",
            "parameters": [{"type": "text", "text": str(values[name])} for name in template.body_parameters],
        })
    if template.has_payment_button:
        suffix = message.metadata.get("payment_link_suffix") or values.get("payment_link_suffix")
        if not suffix:
            raise ChannelError(
                f"WhatsApp template {template.name!r} has a payment button but the message "
                "has no payment_link_suffix.",
                permanent=True, code="whatsapp_template_value_missing",
            )
        components.append({
            "type": "button", "sub_type": "url", "index": "0",
            "parameters": [{"type": "text", "text": str(suffix)}],
        })

    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": message.recipient.lstrip("+"),
        "type": "template",
        "template": {"name": template.name, "language": {"code": template.language}, "components": components},
    }


def _json(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _rejection(status_code: int, body: dict) -> Exception:
    error = body.get("error") or {}
    code = error.get("code")
    detail = error.get("message") or f"HTTP {status_code}"

    if code in RATE_LIMIT_CODES:
        return TemporaryFailure(f"WhatsApp rate limit: {detail} ({code}).", code="rate_limited")
    if code == UNDELIVERABLE_CODE:
        return RecipientInvalid(f"WhatsApp cannot deliver to this number: {detail}.",
                                code="whatsapp_undeliverable")
    if code == AUTH_CODE or status_code == 401:
        return ChannelError(f"Meta rejected the access token: {detail}. Renew it.",
                            permanent=False, code="provider_auth_failed")
    return ChannelError(f"WhatsApp rejected the message: {detail} (error {code}).",
                        permanent=True, code=f"whatsapp_{code or status_code}")


@transaction.atomic
def do_verify_template(template: WhatsAppTemplate, account: ProviderAccount) -> WhatsAppTemplate:
    """Look the template up at Meta and store its status and category.

    Only a template Meta reports as APPROVED in the UTILITY category becomes
    usable. Raises ChannelError when Meta cannot be asked.
    """
    waba_id = account.required("waba_id")
    backend = WhatsAppCloudBackend()
    try:
        response = backend.request(
            account, "GET", f"{_graph_base(account)}/{waba_id}/message_templates",
            params={"name": template.name, "fields": "name,language,status,category"},
            headers={"Authorization": f"Bearer {account.secret('access_token')}"},
        )
    except (TemporaryFailure, UncertainOutcome) as exc:
        raise ChannelError(str(exc), permanent=False, code=exc.code) from exc
    if response.status_code != 200:
        raise _as_channel_error(_rejection(response.status_code, _json(response)))

    found = next(
        (
            entry for entry in _json(response).get("data", [])
            if entry.get("name") == template.name and entry.get("language") == template.language
        ),
        None,
    )
    template.status = str(found.get("status", "")) if found else "MISSING"
    template.category = str(found.get("category", "")) if found else ""
    template.verified_at = timezone.now() if found else None
    template.save(update_fields=["status", "category", "verified_at"])
    logger.info(
        "whatsapp template checked",
        extra={"creditor_id": template.creditor_id, "template_id": template.pk, "status": template.status},
    )
    return template


def _as_channel_error(error: Exception) -> ChannelError:
    if isinstance(error, ChannelError):
        return error
    return ChannelError(str(error), permanent=False, code=getattr(error, "code", "provider_error"))
