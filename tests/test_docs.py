"""The guides stay true: README and the documents it links to (docs/,
CONTRIBUTING.md, CHANGELOG.md) link only to files and headings that exist, name
only `make` targets, `manage.py` commands and environment variables that exist,
and README stays short. Section references in code and config ("docs/deploy.md,
\\"Email\\"") name real headings."""

import re
from pathlib import Path

import pytest
from django.core.management import get_commands

from tests.support.compose import ROOT, compose_variables, env_reads

README = ROOT / "README.md"
DOCUMENTS = sorted(
    [README, ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md"]
    + list((ROOT / "docs").glob("*.md"))
)
IDS = [str(path.relative_to(ROOT)) for path in DOCUMENTS]

# Upper-case names the documents may use that the settings do not read: the docker
# compose command's own variable, Django's, and a request header key. Names read by
# docker-compose.yml, the Makefile or tests/support are found by scanning those
# files, below.
NOT_SETTINGS = {"COMPOSE_PROFILES", "DJANGO_SETTINGS_MODULE", "REMOTE_ADDR"}

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
CODE_SPAN = re.compile(r"`([^`\n]+)`")
VARIABLE = re.compile(r"(?<![\w.$-])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?![\w(])")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to
    hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def headings(path: Path) -> list[str]:
    text = FENCE.sub("", path.read_text())
    return re.findall(r"^#{1,6} (.+?)\s*$", text, re.M)


def code_of(path: Path) -> str:
    """What a reader would type: fenced blocks and `code spans`."""
    text = path.read_text()
    blocks = FENCE.findall(text)
    spans = CODE_SPAN.findall(FENCE.sub("", text))
    return "\n".join(blocks + spans)


def test_readme_fits_on_two_screens():
    assert len(README.read_text().splitlines()) <= 150


@pytest.mark.parametrize("path", DOCUMENTS, ids=IDS)
def test_relative_links_resolve(path):
    broken = []
    for target in LINK.findall(FENCE.sub("", path.read_text())):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists() or (
            anchor and anchor not in {slug(h) for h in headings(linked)}
        ):
            broken.append(target)
    assert broken == []


def test_the_documents_are_linked_from_the_readme():
    linked = {
        (README.parent / target.partition("#")[0]).resolve()
        for target in LINK.findall(README.read_text())
        if not re.match(r"[a-z]+:", target)
    }
    for path in DOCUMENTS:
        if path != README:
            assert path.resolve() in linked, path


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))


@pytest.mark.parametrize("path", DOCUMENTS, ids=IDS)
def test_every_make_target_mentioned_exists(path):
    mentioned = set(re.findall(r"\bmake ([a-z][\w-]*)", code_of(path)))
    assert mentioned - makefile_targets() == set()


@pytest.mark.parametrize("path", DOCUMENTS, ids=IDS)
def test_every_manage_py_command_mentioned_exists(path):
    mentioned = set(re.findall(r"manage\.py ([a-z][\w-]*)", code_of(path)))
    assert mentioned - set(get_commands()) == set()


def known_variables() -> set[str]:
    support = list((ROOT / "tests" / "support").glob("*.py"))
    makefile = (ROOT / "Makefile").read_text()
    return (
        env_reads()
        | env_reads([*support, ROOT / "docs" / "screenshots.py"])
        | compose_variables()
        | set(re.findall(r"\$\$?[{(]([A-Z][A-Z0-9_]*)", makefile))
        | set(re.findall(r"^([A-Z][A-Z0-9_]*) \??[:?]?=", makefile, re.M))
        | NOT_SETTINGS
    )


@pytest.mark.parametrize("path", DOCUMENTS, ids=IDS)
def test_every_environment_variable_mentioned_is_read(path):
    text = re.sub(r"https?://\S+", "", path.read_text())
    mentioned = set(VARIABLE.findall(text))
    assert mentioned - known_variables() == set()


def test_the_scans_find_what_they_should():
    """The regular expressions above see real mentions (a broken scan would pass
    every test)."""
    deploy = ROOT / "docs" / "deploy.md"
    assert {"EMAIL_HOST", "POSTGRES_PASSWORD", "WEB_CONCURRENCY"} <= set(
        VARIABLE.findall(deploy.read_text())
    )
    assert {"demo", "test"} <= set(re.findall(r"\bmake ([a-z][\w-]*)", code_of(README)))
    assert "createsuperuser" in code_of(deploy)
    assert {"TEST_DATABASE_URL", "CHROMIUM_PATH", "SCREENSHOT_DIR"} <= known_variables()
    assert slug("The proxy in front, HTTPS and HSTS") == (
        "the-proxy-in-front-https-and-hsts"
    )


def test_the_configuration_table_lists_nothing_that_is_not_read():
    guide = (ROOT / "docs" / "deploy.md").read_text()
    section = guide[guide.index("\n## Configuration\n") :]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    listed = {
        name
        for row in rows
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split(" | ")[0])
    }
    assert listed - env_reads() - compose_variables() - NOT_SETTINGS == set()


# "docs/deploy.md, "Email"", "docs/organiser.md "Delivery modes"", "README "Tests"".
SECTION_REFERENCE = re.compile(
    r"((?:docs/)?[\w-]+\.md|README)[,:]?\s+\(?\"([^\"\n]+)\""
)
SOURCES = [
    ROOT / ".env.example",
    ROOT / "Makefile",
    ROOT / "docker-compose.yml",
    *ROOT.glob("*/*.py"),
    *ROOT.glob("*/*/*.py"),
    *ROOT.glob("*/*/*/*.py"),
    *DOCUMENTS,
]


def test_section_references_name_real_headings():
    dangling = []
    for source in SOURCES:
        if ".venv" in source.parts or "node_modules" in source.parts:
            continue
        for document, section in SECTION_REFERENCE.findall(source.read_text()):
            if document == "README":
                document = "README.md"
            path = ROOT / document
            if not path.exists() and (ROOT / "docs" / document).exists():
                path = ROOT / "docs" / document
            if not path.exists() or section not in headings(path):
                dangling.append((source.name, document, section))
    assert dangling == []
