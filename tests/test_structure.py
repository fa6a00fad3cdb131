"""The code's shape: letters never imports campaign; the merge-field table is the one
truth about merge fields (models, sign form and docs/organiser.md agree with it); one
home for the text rules; one message for "a letter is signed"."""

import ast
import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from campaign.forms import SignForm
from campaign.models import Campaign, Official, Signature
from campaign.services.signing import campaign_sign
from campaign.validators import validate_single_line
from letters import text
from letters.fields import FIELDS
from letters.models import LetterTemplate
from letters.rendering import (
    SIGNATURE_FIELD,
    UNSIGNED_MESSAGE,
    TemplateError,
    validate_subject,
)
from tests.factories import CampaignFactory

ROOT = Path(__file__).resolve().parent.parent


# --- letters -> campaign, never back ------------------------------------------------


def _imported_modules(path: Path, *, root: Path = ROOT) -> set[str]:
    """Every module a file imports, at any depth (inside functions too), with
    relative imports resolved against the file's package."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, *filter(None, [node.module])])
            else:
                module = node.module or ""
            found.add(module)
            # `from . import x` may import the module x, `from campaign import x` too.
            found.update(
                ".".join(filter(None, [module, alias.name])) for alias in node.names
            )
    return found


def _is_campaign(module: str) -> bool:
    return module == "campaign" or module.startswith("campaign.")


@pytest.mark.parametrize(
    "source",
    [
        "import campaign",
        "import campaign.models as m",
        "from campaign import drafting",
        "from campaign.models import Official",
        "from .. import campaign",
        "from ..campaign.models import Official",
        "def later():\n    from campaign.services import signing\n",
        "class A:\n    def f(self):\n        import campaign.admin\n",
    ],
)
def test_the_import_finder_sees_every_kind_of_import(tmp_path, source):
    # So that the test below cannot pass by missing an import.
    (tmp_path / "letters").mkdir()
    sample = tmp_path / "letters" / "sample.py"
    sample.write_text(source)
    assert any(map(_is_campaign, _imported_modules(sample, root=tmp_path)))
    sample.write_text(source.replace("campaign", "letters"))
    assert not any(map(_is_campaign, _imported_modules(sample, root=tmp_path)))


def test_letters_imports_nothing_from_campaign():
    """letters is the template model and its merge-field language; campaign builds
    on it (as django.contrib.flatpages builds on sites), never the other way."""
    files = sorted((ROOT / "letters").rglob("*.py"))
    assert files
    offending = {
        str(path.relative_to(ROOT)): sorted(filter(_is_campaign, modules))
        for path in files
        if any(map(_is_campaign, modules := _imported_modules(path)))
    }
    assert offending == {}


# --- one table of merge fields ------------------------------------------------------

MODELS = {"campaign": Campaign, "official": Official, "signature": Signature}


@pytest.mark.parametrize("field", FIELDS.values(), ids=list(FIELDS))
def test_each_merge_field_reads_a_real_attribute_and_says_truly_if_optional(field):
    if field.source == "today":
        assert field.required
        return
    model_field = MODELS[field.source_object]._meta.get_field(field.source_attribute)
    assert model_field.blank is not field.required
    if field.source_object == "signature":
        # What the supporter must type is the sign form's to say.
        assert field.source_attribute in SignForm.SIGNER_FIELDS
        assert SignForm.base_fields[field.source_attribute].required is field.required


def test_the_organisers_guide_lists_the_merge_fields_as_the_admin_does():
    guide = (ROOT / "docs" / "organiser.md").read_text()
    section = guide[guide.index("### Merge fields") :]
    rows = re.findall(r"^\| `(\{\{ [^`]+ \}\})` \| (.+) \|$", section, flags=re.M)
    assert rows == [(field.code, field.help) for field in FIELDS.values()]


# --- one home for the text rules ----------------------------------------------------


def test_line_breaks_are_what_python_splits_lines_at():
    splits = {chr(i) for i in range(0x3000) if len(f"a{chr(i)}b".splitlines()) > 1}
    assert set(text.LINE_BREAKS) == splits


@pytest.mark.parametrize("char", text.LINE_BREAKS)
def test_a_line_break_is_refused_alike_in_a_name_and_in_a_subject(char):
    with pytest.raises(ValidationError, match=re.escape(text.SINGLE_LINE_MESSAGE)):
        validate_single_line(f"Ada{char}Lovelace")
    with pytest.raises(TemplateError, match="The subject must be a single line"):
        validate_subject(f"Hello{char}world")


# --- a letter is signed: one rule, one message --------------------------------------


@pytest.mark.django_db
def test_every_way_in_refuses_an_unsigned_letter_with_the_same_message():
    unsigned = "{{ official.salutation }},\n\nPlease act.\n\nYours sincerely"
    assert SIGNATURE_FIELD not in unsigned
    campaign = CampaignFactory(signers_may_edit=True)

    with pytest.raises(ValidationError) as admin:
        LetterTemplate(name="x", subject_template="Hi", body_template=unsigned).clean()
    assert admin.value.message_dict == {"body_template": [UNSIGNED_MESSAGE]}

    form = SignForm(
        {
            "full_name": "Ada Lovelace",
            "email": "ada@example.com",
            "postcode": "NW1 6XE",
            "letter_body": unsigned,
            "consent_to_send": "on",
        },
        campaign=campaign,
    )
    assert form.errors == {"letter_body": [UNSIGNED_MESSAGE]}

    with pytest.raises(ValidationError) as service:
        campaign_sign(
            campaign=campaign,
            full_name="Ada Lovelace",
            email="ada@example.com",
            postcode="NW1 6XE",
            letter_body=unsigned,
            consent_to_send=True,
        )
    assert service.value.message_dict == {"letter_body": [UNSIGNED_MESSAGE]}


# --- small modules -------------------------------------------------------------------

MODULE_LINES = 300  # STYLE.md: small modules


def test_every_application_module_is_under_300_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for package in ("campaign", "letters")
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
        and (n := len(path.read_text().splitlines())) >= MODULE_LINES
    }
    assert long == {}, "split these modules: " + ", ".join(long)
