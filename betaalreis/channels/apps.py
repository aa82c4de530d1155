from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "betaalreis.channels"
    label = "channels"
    default_auto_field = "django.db.models.BigAutoField"
