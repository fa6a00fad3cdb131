"""CSV export of signatures: the admin action, the staff URL and the command share
one code path (campaign/exports.py) and so write the same bytes: what those bytes
hold. Filters, errors, permissions and streaming are in test_export_access.py."""

import io
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign import export_filters, exports
from campaign.models import OutboxStatus, Signature
from campaign.validators import normalise_email
from tests.exports.csv_export import (
    BOM,
    COL,
    HOSTILE_NAMES,
    admin_export,
    command_export,
    neutralised,
    parse,
    signed,
    url_export,
)
from tests.factories import (
    CampaignFactory,
    LetterFactory,
)

# Every test here may export the shared campaign, signed by hostile names. The web
# export's COPY runs on a connection of its own, which sees only committed rows.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("hostile_signers"),
]


@pytest.mark.parametrize(
    ("params", "selection"),
    [
        ({}, {"status": "confirmed"}),
        ({"status": "all"}, {}),
        (
            {"status": "all", "since": "2024-03-02", "until": "2024-03-02"},
            {"created_at__date": "2024-03-02"},
        ),
    ],
    ids=["default-confirmed", "all", "one-day"],
)
def test_three_entry_points_write_identical_bytes(
    exporter, staff_client, campaign, tmp_path, params, selection
):
    via_url = url_export(exporter, campaign.slug, **params)
    args = [f"--{key}={value}" for key, value in params.items()]
    via_command = command_export(tmp_path, campaign.slug, *args)
    via_admin = admin_export(
        staff_client, campaign.signatures.filter(**selection).order_by("?")
    )

    assert via_url == via_command == via_admin
    rows = parse(via_url)
    assert rows[0] == exports.HEADER
    expected = campaign.signatures.filter(**selection).count()
    assert len(rows) - 1 == expected > 0


def test_command_stdout_is_the_same_file(exporter, campaign):
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    call_command("export_signatures", campaign.slug, "--excel", stdout=stdout)
    stdout.flush()
    assert stdout.buffer.getvalue() == url_export(exporter, campaign.slug, excel="1")

    as_text = io.StringIO()  # a stream without .buffer gets decoded text
    call_command("export_signatures", campaign.slug, stdout=as_text)
    assert as_text.getvalue().encode() == url_export(exporter, campaign.slug)


def test_hostile_names_round_trip_with_formulas_neutralised(exporter, campaign):
    rows = parse(url_export(exporter, campaign.slug))[1:]
    names = [row[COL["Full name"]] for row in rows]
    assert names == [neutralised(name) for name in HOSTILE_NAMES]
    assert names[0] == '\'=HYPERLINK("http://x")'
    assert names[4] == "'\tcmd"
    assert names[7] == HOSTILE_NAMES[7]  # untouched


def test_every_text_column_is_neutralised(exporter):
    campaign = CampaignFactory(slug="-minus-slug")  # a valid slug a formula trips on
    signed(
        campaign,
        datetime(2024, 3, 1, tzinfo=UTC),
        full_name="=1+1",
        email="=cmd@example.com",
        email_normalised="=cmd@example.com",
        postcode="+44",
        town="@town",
        personal_paragraph="-1\n=2",
    )
    (row,) = parse(url_export(exporter, campaign.slug))[1:]
    assert [row[COL[c]] for c in ("Campaign", "Full name", "Email")] == [
        "'-minus-slug",
        "'=1+1",
        "'=cmd@example.com",
    ]
    assert row[COL["Postcode"]] == "'+44"
    assert row[COL["Town"]] == "'@town"
    assert row[COL["Personal paragraph"]] == "'-1\n=2"
    assert not any(cell[:1] in exports.FORMULA_TRIGGERS for cell in row if cell)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    names=st.lists(
        # Any text PostgreSQL can hold (no NUL, no lone surrogates) must survive.
        st.text(
            st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
            min_size=1,
            max_size=40,
        ),
        min_size=1,
        max_size=8,
    )
)
def test_any_text_round_trips_exactly_apart_from_the_quote(names):
    campaign = CampaignFactory(targets=[])
    Signature.objects.bulk_create(
        Signature(
            campaign=campaign,
            full_name=name,
            personal_paragraph=name,
            email=f"s{i}@example.com",
            email_normalised=normalise_email(f"s{i}@example.com"),
            postcode="N1 9GU",
            status="confirmed",
        )
        for i, name in enumerate(names)
    )
    signatures = export_filters.signatures_for_export(campaign=campaign)
    data = b"".join(exports.signature_csv_chunks(signatures=signatures))
    rows = parse(data)[1:]
    # Rows come in id order: bulk_create's list order.
    assert [r[COL["Full name"]] for r in rows] == [neutralised(n) for n in names]
    assert [r[COL["Personal paragraph"]] for r in rows] == [
        neutralised(n) for n in names
    ]


def test_columns_hold_local_times_flags_and_letter_counts(exporter, campaign):
    summer = signed(
        campaign,
        datetime(2024, 7, 1, 11, 30, 5, tzinfo=UTC),
        full_name="Summer Signer",
        town="Leeds",
        consent_to_send=True,
        keep_updated=False,
    )
    LetterFactory(signature=summer, status=OutboxStatus.FAILED)
    rows = parse(url_export(exporter, campaign.slug, status="all"))
    assert rows[0][COL["Signed at (Europe/London)"]] == "Signed at (Europe/London)"
    by_name = {row[COL["Full name"]]: row for row in rows[1:]}

    assert by_name["Summer Signer"] == [
        campaign.slug,
        "2024-07-01 12:30:05",  # BST
        "2024-07-01 12:30:05",
        "Summer Signer",
        summer.email,
        "SW1A 1AA",
        "Leeds",
        "yes",
        "no",
        "",
        "confirmed",
        *[""] * 5,  # no source: utm_source, utm_medium, utm_campaign, ref, site
        "0",
        "1",
    ]
    pending = by_name["Pending Person"]
    assert pending[COL["Signed at (Europe/London)"]] == "2024-03-02 10:00:00"  # GMT
    assert pending[COL["Confirmed at (Europe/London)"]] == ""
    assert pending[COL["Status"]] == "pending"
    # Each hostile signer: one letter sent; the odd ones one failed.
    ada = by_name["Ada Lovelace"]
    assert (ada[COL["Letters delivered"]], ada[COL["Letters failed"]]) == ("1", "0")
    plus = by_name["'+1"]
    assert (plus[COL["Letters delivered"]], plus[COL["Letters failed"]]) == ("1", "1")


def test_copy_csv_format_and_excel_bom(exporter, campaign):
    plain = url_export(exporter, campaign.slug)
    excel = url_export(exporter, campaign.slug, excel="1")
    assert excel == BOM + plain
    assert url_export(exporter, campaign.slug, excel="0") == plain
    assert not plain.startswith(BOM)
    # PostgreSQL's COPY conventions: records end in LF; a field holding a comma, a
    # quote or a line break is quoted with inner quotes doubled (as RFC 4180);
    # an empty text is "", a missing value (no confirmation yet) nothing at all.
    assert plain.startswith(",".join(exports.HEADER).encode() + b"\n")
    assert b"\r\n" not in plain.replace(b"again\r\nand", b"")
    assert b'"She said ""hi"", then\nleft; again\r\nand, again"' in plain
    everyone = url_export(exporter, campaign.slug, status="all").split(b"\n")
    pending = next(line for line in everyone if b"Pending Person" in line)
    assert b',"",' in pending  # the empty personal paragraph
    assert b":00,,Pending Person," in pending  # no confirmation time


def test_status_and_date_filters(exporter, campaign):
    late = signed(
        campaign, datetime(2024, 6, 30, 23, 30, tzinfo=UTC), full_name="Late June"
    )  # 2024-07-01 00:30 in London: a July signature there

    def names(**params):
        rows = parse(url_export(exporter, campaign.slug, **params))[1:]
        return {row[COL["Full name"]] for row in rows}

    assert names(status="pending") == {"Pending Person"}
    assert (
        names(status="confirmed") == names() == names(status="all") - {"Pending Person"}
    )
    assert names(since="2024-07-01") == {late.full_name}
    assert late.full_name not in names(until="2024-06-30")
    assert names(status="all", since="2024-03-01", until="2024-03-01") == {
        neutralised(n) for n in HOSTILE_NAMES
    }
    assert names(since="2024-03-03", until="2024-06-30") == set()
