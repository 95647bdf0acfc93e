from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "outreach"

    def ready(self) -> None:
        # Registers the settings checks (Django's documented place for it).
        from outreach import checks  # noqa: F401
