"""The letter template the admin tests edit: its body has no optional fields."""

import pytest

from tests.factories import LetterTemplateFactory


@pytest.fixture
def template():
    return LetterTemplateFactory(
        name="Sanctions letter",
        subject_template="About {{ campaign.title }}",
        body_template=(
            "{{ official.salutation }},\n\nPlease act.\n\nYours,\n{{ signer.name }}"
        ),
    )


@pytest.fixture
def letter_template(template):
    """The shared `campaign` fixture writes with this package's template."""
    return template
