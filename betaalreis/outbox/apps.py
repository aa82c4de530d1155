from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutboxConfig(AppConfig):
    name = "betaalreis.outbox"
    label = "outbox"
    verbose_name = _("Berichten")
    default_auto_field = "django.db.models.BigAutoField"
