"""CSV export of signatures: the admin action, the staff URL and the command share
one code path (campaign/exports.py) and so write the same bytes."""

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign import exports
from campaign.models import OutboxStatus, Signature
from campaign.validators import normalise_email
from tests.factories import (
    CampaignFactory,
    LetterFactory,
    SignatureFactory,
    StaffUserFactory,
)

pytestmark = pytest.mark.django_db

HOSTILE_NAMES = [
    '=HYPERLINK("http://x")',
    "+1",
    "-2",
    "@SUM(A1)",
    "\tcmd",
    "\rcarriage",
    'She said "hi", then\nleft; again\r\nand, again',
    "Zoë Ångström-Łukasz 中文 🙂",
    "Ada Lovelace",
]
COL = {name: i for i, name in enumerate(exports.HEADER)}
BOM = b"\xef\xbb\xbf"


def parse(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def neutralised(value: str) -> str:
    return "'" + value if value and value[0] in exports.FORMULA_TRIGGERS else value


def signed(campaign, when: datetime, *, confirmed: bool = True, **fields):
    """A signature with a chosen signing time (created_at is auto_now_add)."""
    signature = SignatureFactory(
        campaign=campaign,
        status="confirmed" if confirmed else "pending",
        confirmed_at=when if confirmed else None,
        **fields,
    )
    Signature.objects.filter(pk=signature.pk).update(created_at=when)
    return signature


@pytest.fixture
def campaign():
    """Hostile names (confirmed, one minute apart), a pending signer, another
    campaign's signer, and letters in every state."""
    campaign = CampaignFactory(slug="clean-air")
    first, second = campaign.targets.all()
    for i, name in enumerate(HOSTILE_NAMES):
        signature = signed(
            campaign, datetime(2024, 3, 1, 9, i, tzinfo=UTC), full_name=name
        )
        LetterFactory(signature=signature, official=first, status=OutboxStatus.SENT)
        status = OutboxStatus.FAILED if i % 2 else OutboxStatus.PENDING
        LetterFactory(signature=signature, official=second, status=status)
    signed(
        campaign,
        datetime(2024, 3, 2, 10, 0, tzinfo=UTC),
        confirmed=False,
        full_name="Pending Person",
    )
    signed(CampaignFactory(), datetime(2024, 3, 1, 9, 0, tzinfo=UTC))
    return campaign


@pytest.fixture
def superuser_client():
    """A second client (the admin's), beside `exporter`'s."""
    client = Client()
    client.force_login(StaffUserFactory(is_superuser=True))
    return client


@pytest.fixture
def exporter(client):
    """Staff with campaign.view_signature but nothing else: what the URL asks for."""
    user = StaffUserFactory()
    user.user_permissions.add(Permission.objects.get(codename="view_signature"))
    client.force_login(user)
    return client


def url_export(client, slug: str, **params) -> bytes:
    response = client.get(reverse("campaign:signatures_csv", args=[slug]), params)
    assert response.status_code == 200, response.content
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content)


def command_export(tmp_path, slug: str, *args: str) -> bytes:
    target = tmp_path / "out.csv"
    call_command(
        "export_signatures", slug, *args, "--output", str(target), stderr=io.StringIO()
    )
    return target.read_bytes()


def admin_export(superuser_client, signatures) -> bytes:
    response = superuser_client.post(
        reverse("admin:campaign_signature_changelist"),
        {
            "action": "export_selected_csv",
            "_selected_action": [s.pk for s in signatures],
            "index": "0",
            "select_across": "0",
        },
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content)


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
    exporter, superuser_client, campaign, tmp_path, params, selection
):
    via_url = url_export(exporter, campaign.slug, **params)
    args = [f"--{key}={value}" for key, value in params.items()]
    via_command = command_export(tmp_path, campaign.slug, *args)
    via_admin = admin_export(
        superuser_client, campaign.signatures.filter(**selection).order_by("?")
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
    signatures = exports.signatures_for_export(campaign=campaign)
    data = b"".join(exports.signature_csv_chunks(signatures=signatures))
    rows = parse(data)[1:]
    # bulk_create stamps created_at in list order; any tie breaks by id.
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
        "clean-air",
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


def test_rfc4180_crlf_and_excel_bom(exporter, campaign):
    plain = url_export(exporter, campaign.slug)
    excel = url_export(exporter, campaign.slug, excel="1")
    assert excel == BOM + plain
    assert url_export(exporter, campaign.slug, excel="0") == plain
    assert not plain.startswith(BOM)
    assert plain.startswith(",".join(exports.HEADER).encode() + b"\r\n")
    # The embedded quote is doubled and the field quoted (RFC 4180).
    assert b'"She said ""hi"", then\nleft; again\r\nand, again"' in plain


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


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "2024-13-01"}, "since: Enter a date as YYYY-MM-DD."),
        ({"until": "yesterday"}, "until: Enter a date as YYYY-MM-DD."),
        ({"since": "01/03/2024"}, "since: Enter a date as YYYY-MM-DD."),
        (
            {"since": "2024-03-02", "until": "2024-03-01"},
            "'since' must not be after 'until'.",
        ),
        ({"status": "everyone"}, "status: Select a valid choice."),
    ],
)
def test_bad_filters_are_a_400_and_a_command_error(
    exporter, campaign, tmp_path, params, message
):
    response = exporter.get(
        reverse("campaign:signatures_csv", args=[campaign.slug]), params
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    with pytest.raises(CommandError, match=message.split(": ")[-1][:20]):
        command_export(
            tmp_path, campaign.slug, *[f"--{k}={v}" for k, v in params.items()]
        )
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_unknown_slug_is_404_and_a_command_error(exporter, tmp_path):
    url = reverse("campaign:signatures_csv", args=["no-such-campaign"])
    assert exporter.get(url).status_code == 404
    with pytest.raises(CommandError, match="No campaign with slug 'no-such-campaign'"):
        command_export(tmp_path, "no-such-campaign")


def test_unwritable_output_is_a_command_error(campaign, tmp_path):
    target = tmp_path / "no-such-dir" / "out.csv"
    with pytest.raises(CommandError, match="Cannot write .*No such file"):
        call_command(
            "export_signatures",
            campaign.slug,
            f"--output={target}",
            stderr=io.StringIO(),
        )


def test_permissions(client, django_user_model, campaign):
    url = reverse("campaign:signatures_csv", args=[campaign.slug])

    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("admin:login"))

    member = django_user_model.objects.create_user("member")
    member.user_permissions.add(Permission.objects.get(codename="view_signature"))
    client.force_login(member)  # has the permission but is not staff
    assert client.get(url).status_code == 403
    # ...and can't probe which slugs exist either.
    missing = reverse("campaign:signatures_csv", args=["no-such-campaign"])
    assert client.get(missing).status_code == 403

    user = StaffUserFactory()
    user.user_permissions.add(Permission.objects.get(codename="change_signature"))
    client.force_login(user)  # staff, may even edit signatures, but not view
    assert client.get(url).status_code == 403

    user.user_permissions.add(Permission.objects.get(codename="view_signature"))
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    assert parse(b"".join(response.streaming_content))[0] == exports.HEADER
    assert response["Content-Disposition"].startswith(
        'attachment; filename="clean-air-signatures-confirmed-'
    )


def test_admin_action_and_button_need_the_same_permission(client, campaign):
    user = StaffUserFactory()
    for codename in ("change_signature", "change_campaign"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(user)
    changelist = reverse("admin:campaign_signature_changelist")
    change_page = reverse("admin:campaign_campaign_change", args=[campaign.pk])
    export_url = reverse("campaign:signatures_csv", args=[campaign.slug])

    assert "export_selected_csv" not in client.get(changelist).content.decode()
    refused = client.post(
        changelist,
        {
            "action": "export_selected_csv",
            "_selected_action": [campaign.signatures.first().pk],
            "index": "0",
        },
    )
    assert refused["Content-Type"] != "text/csv; charset=utf-8"
    assert export_url not in client.get(change_page).content.decode()

    user.user_permissions.add(Permission.objects.get(codename="view_signature"))
    client.force_login(user)
    assert "Export selected as CSV" in client.get(changelist).content.decode()
    page = client.get(change_page).content.decode()
    assert f'href="{export_url}?status=all">Export all signatures</a>' in page
    assert f'href="{export_url}?status=all&amp;excel=1"' in page
    rows = parse(admin_export(client, campaign.signatures.all()))
    assert len(rows) - 1 == campaign.signatures.count()


def _grow(campaign, n: int) -> None:
    official = campaign.targets.first()
    for i in range(n):
        signature = signed(campaign, datetime(2024, 4, 1, tzinfo=UTC))
        LetterFactory(signature=signature, official=official, status="sent")
        if i % 3 == 0:
            signature.letters.create(
                official=campaign.targets.last(), status="failed", subject="s"
            )


def test_query_count_is_pinned_and_independent_of_rows(
    exporter, campaign, django_assert_num_queries
):
    url = reverse("campaign:signatures_csv", args=[campaign.slug])
    sizes = []
    for extra in (0, 40):
        _grow(campaign, extra)
        # Session, user, permissions (user + group), campaign, then the export:
        # SAVEPOINT, the one SELECT, RELEASE (savepoints because the test runs in
        # a transaction; in production it is BEGIN/COMMIT on the connection).
        with django_assert_num_queries(8) as captured:
            response = exporter.get(url, {"status": "all"})
            sizes.append(len(parse(b"".join(response.streaming_content))))
        selects = [q["sql"] for q in captured.captured_queries if "to_char" in q["sql"]]
        assert len(selects) == 1
    assert sizes[1] - sizes[0] == 40


def test_rows_stream_from_a_server_side_cursor_in_chunks(campaign):
    signatures = exports.signatures_for_export(campaign=campaign, status="all")
    chunks = exports.signature_csv_chunks(signatures=signatures, chunk_rows=4)
    header = next(chunks)
    assert parse(header) == [exports.HEADER]
    first = next(chunks)
    assert len(parse(first)) == 4
    # Mid-export the rows are still on the server, behind a named cursor.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE NOT is_holdable")
        assert cursor.fetchone()[0] == 1
    rest = list(chunks)
    assert [len(parse(c)) for c in rest] == [4, 2]  # 10 rows in all


def test_command_shows_progress_on_stderr_when_writing_a_file(campaign, tmp_path):
    target = tmp_path / "export.csv"
    stderr = io.StringIO()
    call_command(
        "export_signatures",
        campaign.slug,
        "--status=all",
        f"--output={target}",
        stderr=stderr,
    )
    rows = parse(target.read_bytes())
    assert len(rows) == 11
    progress = stderr.getvalue()
    assert "clean-air: 100%" in progress
    assert re.search(r"\b10(\.0)?/10(\.0)? ", progress), progress
    assert f"Wrote 10 rows to {target}" in progress
    assert [p.name for p in tmp_path.iterdir()] == ["export.csv"]  # no .part left
