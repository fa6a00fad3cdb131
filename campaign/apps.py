from django.apps import AppConfig


class CampaignConfig(AppConfig):
    name = "campaign"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        from django.core.checks import register

        # Our tasks are @shared_task: they bind to the project's Celery app (its
        # broker, its settings) only once it is loaded, in every process that
        # queues one (web, commands, tests), not only in the worker.
        import config.celery  # noqa: F401
        from campaign.checks import email_reaches_officials

        # Production must not send letters into a mail catcher (campaign/checks.py).
        register(email_reaches_officials, "email")
