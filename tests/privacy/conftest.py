"""The questionnaire fixtures, for the withdrawal link in its email."""

from tests.replies.conftest import questionnaire_settings  # noqa: F401
