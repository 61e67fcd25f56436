from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "bank.observability"
    label = "observability"
    verbose_name = "Operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Request ids travel with the tasks a request queues (django-q2's own signals; nothing is loaded here).
        from bank.observability import task_context

        task_context.connect()
