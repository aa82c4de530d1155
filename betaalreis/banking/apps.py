from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BankingConfig(AppConfig):
    name = "betaalreis.banking"
    label = "banking"
    verbose_name = _("Bank")
    default_auto_field = "django.db.models.BigAutoField"
