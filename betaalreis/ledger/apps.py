from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "betaalreis.ledger"
    label = "ledger"
    verbose_name = _("Debiteurenadministratie")
    default_auto_field = "django.db.models.BigAutoField"
