"""campaign/mime.py: the quick header folding writes exactly the bytes compat32
writes, for any header value, and a whole update email flattens the same with a
hostile, long or non-ASCII name; the envelope's addresses are what Django's
sanitize_address makes them. No database."""

from datetime import UTC, datetime
from email.policy import compat32

import pytest
from django.core.mail.message import sanitize_address
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from campaign import emails
from campaign.mime import QUICK_FOLDING, envelope_address
from campaign.models import Campaign, Signature, Update, UpdateEmail
from campaign.services.delivery.outbox import build
from campaign.services.delivery.registry import outbox_for

NAMES = ["Subject", "To", "From", "List-Unsubscribe", "X-Campaign", "Message-ID"]


def folded(policy, name, value):
    try:
        return policy.clone(linesep="\r\n").fold_binary(name, value)
    except Exception as exc:  # both must refuse alike
        return type(exc)


@examples(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(NAMES),
    value=st.one_of(
        st.text(),
        st.text(alphabet=st.sampled_from("ab ;,:\r\n\t=?é"), max_size=120),
        st.from_regex(r"[!-~]{1,40}( [!-~]{1,20}){0,4}", fullmatch=True),
    ),
)
def test_quick_folding_writes_what_compat32_writes(name, value):
    assert folded(QUICK_FOLDING, name, value) == folded(compat32, name, value)


@pytest.mark.parametrize("length", [70, 71, 72, 73, 80])
def test_the_line_length_boundary_is_compat32s(length):
    value = "x" * (length - 8) + " y"
    assert folded(QUICK_FOLDING, "Subject", value) == folded(compat32, "Subject", value)


def test_a_line_break_never_takes_the_quick_path():
    # Header folding of a value with CR/LF is compat32's (it refuses or
    # continues the line); the quick path never writes one as is.
    value = "Hi\r\nBcc: eve@example.net"
    assert folded(QUICK_FOLDING, "Subject", value) == folded(compat32, "Subject", value)
    assert b"\r\nBcc:" not in folded(QUICK_FOLDING, "Subject", "Hi Bcc: x")


def copy(full_name: str) -> UpdateEmail:
    campaign = Campaign(pk=3, slug="library", title="Save the Library")
    signature = Signature(
        pk=42,
        campaign=campaign,
        full_name=full_name,
        email="zoe@example.com",
        status=Signature.Status.CONFIRMED,
        keep_updated=True,
    )
    update = Update(
        pk=5,
        campaign=campaign,
        subject="News for {{ signer.name }} about {{ campaign.title }}",
        body="Dear {{ signer.name }},\n\n{{ campaign.signatures }} signed.",
        signature_count=12345,
    )
    return UpdateEmail(
        pk=7,
        update=update,
        signature=signature,
        created_at=datetime(2026, 1, 2, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    "full_name",
    [
        "Ada Lovelace",
        "Zoë O'Brien, Jr.",
        "{{ campaign.title }} =?utf-8?q?x?= Bcc: eve@example.net",
        "A" * 90,
        "Ada  Lovelace",
    ],
)
def test_an_update_email_flattens_byte_for_byte_as_before(full_name, settings):
    settings.SITE_URL = "https://quillpost.example.org"
    message = build(outbox_for(UpdateEmail), copy(full_name))
    checked = message.message()
    assert checked.policy is QUICK_FOLDING
    quick = checked.as_bytes(linesep="\r\n")
    checked.policy = compat32
    assert quick == checked.as_bytes(linesep="\r\n")
    headers = quick.split(b"\r\n\r\n")[0]
    assert b"\r\nBcc:" not in headers  # the name stayed inside the Subject


def test_a_name_with_a_line_break_is_still_refused():
    failure = build(outbox_for(UpdateEmail), copy("Ada\r\nBcc: eve@example.net"))
    assert not isinstance(failure, emails.EmailMessage)
    assert failure.permanent and "line breaks" in failure.detail


def sanitised(address):
    try:
        return sanitize_address(address, "utf-8")
    except Exception as exc:  # both must refuse alike
        return type(exc)


@examples(max_examples=60, deadline=None)
@given(
    address=st.one_of(
        st.emails(),
        st.from_regex(r"[a-z.+\-]{1,12}@[A-Za-z0-9.\-]{1,70}", fullmatch=True),
        st.text(alphabet=st.sampled_from('ab.@ <>"\r\né-'), max_size=30),
    )
)
def test_envelope_address_is_djangos_sanitize_address(address):
    try:
        quick = envelope_address(address, "utf-8")
    except Exception as exc:
        quick = type(exc)
    assert quick == sanitised(address)


@pytest.mark.parametrize(
    "address",
    [
        "bounces+u7-abcdefghijklmnop@quillpost.example.org",
        "Zoe.O'Brien+news@Example.COM",
        "zoë@example.com",
        "a..b@example.com",
        "ada@" + "x" * 64 + ".example.com",
        "Ada <ada@example.com>",
        "ada@example.com\r\nRCPT TO:<eve@example.net>",
    ],
)
def test_envelope_address_edge_cases(address):
    try:
        quick = envelope_address(address, "utf-8")
    except Exception as exc:
        quick = type(exc)
    assert quick == sanitised(address)
    assert "\n" not in str(quick)


def test_the_site_sends_through_the_quick_backend(smtp):
    from django.core.mail import EmailMessage, get_connection

    with get_connection() as mail:
        assert type(mail).__module__ == "campaign.smtp"
        mail.send_messages(
            [EmailMessage("Hi", "Body", "bounces@example.org", ["zoe@example.com"])]
        )
    [received] = smtp.wait_for(count=1)
    assert received["To"] == "zoe@example.com"
