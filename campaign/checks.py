"""System checks run by `manage.py check` and, before it touches the database, by
`manage.py migrate`: compose's migrate step fails, so web, worker and beat never
start with a configuration that would lose letters. Registered (tag "email") in
CampaignConfig.ready()."""

from django.conf import settings
from django.core.checks import Error

CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"


def email_reaches_officials(app_configs=None, **kwargs) -> list[Error]:
    """Under compose, a forgotten EMAIL_HOST used to send every letter to the mail
    catcher, where it was marked sent and never reached an official. In
    production (DEBUG off) the console backend and the catcher hosts are errors
    unless EMAIL_ALLOW_TEST_SINK says the test sink is deliberate."""
    if settings.DEBUG or settings.EMAIL_ALLOW_TEST_SINK:
        return []
    if settings.EMAIL_BACKEND == CONSOLE_BACKEND:
        where = "printed to the console (EMAIL_HOST is not set)"
    elif settings.EMAIL_HOST.lower() in {
        host.lower() for host in settings.EMAIL_TEST_SINK_HOSTS
    }:
        where = f"sent to the test mail catcher {settings.EMAIL_HOST!r}"
    else:
        return []
    return [
        Error(
            f"DJANGO_DEBUG is off but every email would be {where}: letters would be "
            "marked sent and never reach an official.",
            hint=(
                "Set EMAIL_HOST (and EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, "
                "EMAIL_USE_TLS) to your SMTP server, or set EMAIL_ALLOW_TEST_SINK=1 "
                "if this is a test installation (docs/deploy.md, 'Email')."
            ),
            id="quillpost.E001",
        )
    ]
