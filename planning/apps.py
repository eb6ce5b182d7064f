from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "planning"
    verbose_name = "Planning"

    def ready(self) -> None:
        from planning.services.phases import phase_changed
        from planning.services.webhooks import on_phase_changed

        phase_changed.connect(on_phase_changed, dispatch_uid="webhook_on_phase_changed")
