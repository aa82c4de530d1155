"""Provider webhook endpoints, mounted under /channels/."""

from django.urls import include, path

# Importing connects the anymail tracking and inbound receivers.
from betaalreis.channels.webhooks import email as _email_receivers  # noqa: F401
from betaalreis.channels.webhooks.anymail_access import guarded_urlpatterns
from betaalreis.channels.webhooks.cmcom import CmInboundWebhookView, CmWebhookView
from betaalreis.channels.webhooks.messagebird import MessageBirdWebhookView
from betaalreis.channels.webhooks.twilio import TwilioWebhookView
from betaalreis.channels.webhooks.whatsapp import WhatsAppWebhookView

app_name = "channels"

urlpatterns = [
    path("webhooks/twilio/<slug:creditor_slug>/status/", TwilioWebhookView.as_view(), name="twilio-status"),
    path("webhooks/twilio/<slug:creditor_slug>/inbound/", TwilioWebhookView.as_view(), name="twilio-inbound"),
    path(
        "webhooks/messagebird/<slug:creditor_slug>/status/",
        MessageBirdWebhookView.as_view(),
        name="messagebird-status",
    ),
    path(
        "webhooks/messagebird/<slug:creditor_slug>/inbound/",
        MessageBirdWebhookView.as_view(),
        name="messagebird-inbound",
    ),
    path(
        "webhooks/cmcom/<slug:creditor_slug>/<str:token>/status/",
        CmWebhookView.as_view(),
        name="cmcom-status",
    ),
    path(
        "webhooks/cmcom/<slug:creditor_slug>/<str:token>/inbound/",
        CmInboundWebhookView.as_view(),
        name="cmcom-inbound",
    ),
    path("webhooks/whatsapp/<slug:creditor_slug>/", WhatsAppWebhookView.as_view(), name="whatsapp"),
    # Anymail's views, which reject every request while BETAALREIS_ANYMAIL_WEBHOOK_SECRET is empty.
    path("anymail/", include((guarded_urlpatterns(), "anymail"))),
]
