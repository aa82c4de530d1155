from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "betaalreis.portal"
    label = "portal"
    verbose_name = _("Debiteurenportaal")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from betaalreis.portal import checks  # noqa: F401  (registers the deploy check)
