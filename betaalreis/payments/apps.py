from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "betaalreis.payments"
    label = "payments"
    verbose_name = _("Betalingen")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from betaalreis.payments import checks  # noqa: F401  (registers the deploy checks)
