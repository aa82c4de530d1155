"""WhatsApp Business Cloud API (Meta Graph API)."""

from betaalreis.channels.backends.whatsapp.api import WhatsAppCloudBackend, do_verify_template

__all__ = ["WhatsAppCloudBackend", "do_verify_template"]
