from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DunningConfig(AppConfig):
    name = "betaalreis.dunning"
    label = "dunning"
    verbose_name = _("Aanmaningen")
    default_auto_field = "django.db.models.BigAutoField"
