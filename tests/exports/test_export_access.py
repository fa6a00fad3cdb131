"""CSV export of signatures: bad filters, unknown campaigns, who may export, and
how the rows are read (one COPY, progress on stderr). How the web streams the
COPY (slow clients, clients leaving, failures) is test_export_stream.py."""

import io
import re
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from campaign import export_filters, exports
from tests.exports.csv_export import (
    admin_export,
    command_export,
    parse,
    signed,
)
from tests.factories import (
    LetterFactory,
    StaffUserFactory,
)

# Every test here may export the shared campaign, signed by hostile names. The web
# export's COPY runs on a connection of its own, which sees only committed rows.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("hostile_signers"),
]


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
        f'attachment; filename="{campaign.slug}-signatures-confirmed-'
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
        # On the request's connection: session, user, permissions (user + group),
        # campaign. The export itself is one COPY on the stream's own connection.
        with django_assert_num_queries(5):
            response = exporter.get(url, {"status": "all"})
            sizes.append(len(parse(b"".join(response.streaming_content))))
    assert sizes[1] - sizes[0] == 40


def test_the_export_is_one_copy_reading_no_letters(campaign):
    signatures = export_filters.signatures_for_export(campaign=campaign, status="all")
    statement = exports.copy_statement(signatures)
    assert statement.startswith("COPY (")
    assert statement.endswith(") TO STDOUT WITH (FORMAT csv, HEADER)")
    # The letter counts are the signature's own columns: the plan never touches
    # the letters, and probes nothing per row.
    sql, params = exports.export_sql(signatures)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "SubPlan" not in plan
    assert "campaign_letter" not in plan, plan


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
    assert f"{campaign.slug}: 100%" in progress
    assert re.search(r"\b10(\.0)?/10(\.0)? ", progress), progress
    assert f"Wrote 10 rows to {target}" in progress
    assert [p.name for p in tmp_path.iterdir()] == ["export.csv"]  # no .part left
