"""VERP return paths (campaign/verp.py) and finding them in a bounce: pure, no
database."""

import pytest

from campaign.bounce_reports import NotABounce, parse_bounce
from campaign.verp import MAX_LOCAL_PART, verp_address, verp_parse
from tests.bounces.reports import dsn


def test_an_address_names_its_row_and_survives_lowercasing_and_brackets():
    address = verp_address(kind="l", pk=42)
    local, _, domain = address.partition("@")
    assert local.startswith("bounces+l42-")
    assert domain == "quillpost.example.org"  # DEFAULT_FROM_EMAIL's domain
    assert verp_parse(address) == ("l", 42)
    assert verp_parse(f"<{address.upper()}>") == ("l", 42)
    assert local == local.lower()


def test_the_local_part_fits_rfc_5321_for_the_largest_id():
    address = verp_address(kind="d", pk=2**63 - 1)
    assert len(address.partition("@")[0]) <= MAX_LOCAL_PART
    assert verp_parse(address) == ("d", 2**63 - 1)


@pytest.mark.parametrize(
    "forge",
    [
        lambda a: a.replace("+l42-", "+l43-"),  # another row, same signature
        lambda a: a.replace("+l42-", "+d42-"),  # another table
        lambda a: a[: a.index("@") - 1] + "a" + a[a.index("@") :],  # signature
        lambda a: a.replace("@quillpost.example.org", "@elsewhere.example"),
        lambda a: "letters@quillpost.example.org",
        lambda a: "",
    ],
)
def test_forged_or_foreign_addresses_are_refused(forge):
    assert verp_parse(forge(verp_address(kind="l", pk=42))) is None


def test_bounce_domain_and_secret_key_are_read(settings):
    before = verp_address(kind="l", pk=42)
    settings.BOUNCE_DOMAIN = "bounces.example.net"
    address = verp_address(kind="l", pk=42)
    assert address.endswith("@bounces.example.net")
    assert verp_parse(address) == ("l", 42)
    assert verp_parse(before) is None  # the old domain is no longer ours
    settings.SECRET_KEY = "another-secret-" * 4
    assert verp_parse(address) is None


def test_the_envelope_recipient_is_found_where_mtas_put_it():
    address = verp_address(kind="l", pk=42)
    report = dsn(address).replace(f"\nTo: {address}".encode(), b"\nTo: postmaster")
    # Postfix's local delivery adds Delivered-To (and passes $ORIGINAL_RECIPIENT).
    assert parse_bounce(report).pk == 42
    without = report.replace(f"Delivered-To: {address}\r\n".encode(), b"")
    assert isinstance(parse_bounce(without), NotABounce)
    assert parse_bounce(without, recipient=address.upper()).pk == 42
