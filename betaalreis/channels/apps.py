from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "betaalreis.channels"
    label = "channels"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from betaalreis.channels import checks  # noqa: F401  (registers the deploy checks)
