"""The organiser's dashboard: who may see it, and that its numbers are the rows'."""

import io
import json
from datetime import date, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.urls import reverse

from campaign.dashboard_data import dashboard_data
from campaign.models import Letter, Signature, SignatureTally
from campaign.services.tallies import campaign_tallies_refresh
from tests.dashboard.conftest import NOW, signed, utc
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db


def url(campaign, **query) -> str:
    path = reverse("admin:campaign_campaign_dashboard", args=[campaign.pk])
    return path + (
        "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    )


def direct_counts(campaign, since: date, until: date) -> dict[date, tuple[int, int]]:
    from django.db.models.functions import TruncDate

    rows = (
        Signature.objects.filter(campaign=campaign)
        .annotate(day=TruncDate("created_at"))  # the current (site) time zone
        .filter(day__gte=since, day__lte=until)
        .values("day")
        .annotate(signed=Count("pk"), confirmed=Count("pk", filter=_confirmed()))
    )
    return {row["day"]: (row["signed"], row["confirmed"]) for row in rows}


def _confirmed():
    from django.db.models import Q

    return Q(status="confirmed")


def test_anonymous_visitors_are_sent_to_log_in(client, campaign):
    response = client.get(url(campaign))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("is_staff", [False, True])
def test_users_without_the_view_signature_permission_get_403(
    client, campaign, is_staff
):
    client.force_login(StaffUserFactory(username="helper", is_staff=is_staff))
    assert client.get(url(campaign)).status_code == 403


def test_non_staff_with_the_permission_get_403(client, campaign, organiser):
    organiser.is_staff = False
    organiser.save()
    client.force_login(organiser)
    assert client.get(url(campaign)).status_code == 403


def test_the_tables_equal_direct_counts_per_day_source_and_official(
    client, organiser, campaign, history
):
    with time_machine.travel(NOW, tick=False):
        campaign_tallies_refresh(campaign_id=campaign.pk)
        client.force_login(organiser)
        response = client.get(url(campaign))
    assert response.status_code == 200
    charts = {chart.id: chart for chart in response.context["charts"]}

    expected = direct_counts(campaign, date(2026, 7, 5), date(2026, 7, 10))
    daily = {row[0]: (row[3], row[1]) for row in charts["daily"].rows}
    assert {day: daily[day.isoformat()] for day in expected} == expected
    assert sum(signed for signed, _ in daily.values()) == Signature.objects.count()
    # The 23:30 UTC signature is on the 10th, site time: no one signed there else.
    assert daily["2026-07-10"] == (1, 0)

    sources = {row[0]: row[1] for row in charts["sources"].rows}
    assert sources == {
        "x": Signature.objects.filter(utm_source="x").count(),
        "news.example": Signature.objects.filter(referrer_host="news.example").count(),
        "(direct)": Signature.objects.filter(utm_source="", referrer_host="").count(),
    }
    districts = {row[0]: row[1] for row in charts["districts"].rows}
    assert districts == {
        "NW1": Signature.objects.filter(postcode="NW1 6XE").count(),
        "SW1A": Signature.objects.filter(postcode="SW1A 1AA").count(),
    }

    officials = charts["officials"]
    header = officials.headers
    by_official = {
        row[0]: dict(zip(header, row, strict=True)) for row in officials.rows
    }
    for name, status, label in [
        ("Alex Morgan", "sent", "Sent on its own"),
        ("Sam Okafor", "digested", "Delivered in a digest"),
    ]:
        count = Letter.objects.filter(official__name=name, status=status).count()
        assert count > 0
        assert by_official[name][label] == count == by_official[name]["Delivered"]
    personal = {row[0]: row[1] for row in charts["personal"].rows}
    assert personal == {
        "Personal letters": Letter.objects.filter(own_words__gte=25).count(),
        "Template letters": Letter.objects.filter(own_words__lt=25).count(),
    }

    # The charts' data is the tables' numbers, for dashboard.js.
    specs = json.loads(
        response.content.decode()
        .split('id="dashboard-data" type="application/json">')[1]
        .split("</script>")[0]
    )
    daily_spec = next(spec for spec in specs if spec["id"] == "daily")
    assert daily_spec["datasets"][0]["data"] == [row[1] for row in charts["daily"].rows]


def test_confirmation_rate_and_median_time_per_day(campaign, history):
    with time_machine.travel(NOW, tick=False):
        campaign_tallies_refresh(campaign_id=campaign.pk)
        data = dashboard_data(campaign=campaign, since=None, until=None)
    day = next(row for row in data.days if row.day == date(2026, 7, 9))
    # Five signed at 09:00–09:04 on the 9th; n = 0, 2, 4 confirmed after 10, 30, 50 min.
    assert (day.signed, day.confirmed) == (5, 3)
    assert day.confirm_seconds_median == 30 * 60


def test_the_date_filter_narrows_every_table(client, organiser, campaign, history):
    with time_machine.travel(NOW, tick=False):
        campaign_tallies_refresh(campaign_id=campaign.pk)
        client.force_login(organiser)
        response = client.get(url(campaign, since="2026-07-07", until="2026-07-08"))
    charts = {chart.id: chart for chart in response.context["charts"]}
    assert [row[0] for row in charts["daily"].rows] == ["2026-07-07", "2026-07-08"]
    in_range = Signature.objects.filter(
        created_at__gte=utc(2026, 7, 6, 23), created_at__lt=utc(2026, 7, 8, 23)
    )
    assert sum(row[3] for row in charts["daily"].rows) == in_range.count() == 7
    assert sum(row[1] for row in charts["sources"].rows) == 7
    letters = Letter.objects.filter(signature__in=in_range).count()
    assert sum(row[-1] for row in charts["officials"].rows) == letters
    # Confirmed so far starts from everything confirmed before the range.
    before = Signature.objects.filter(
        status="confirmed", created_at__lt=utc(2026, 7, 6, 23)
    ).count()
    first = charts["daily"].rows[0]
    assert first[4] == before + first[1]
    headline = response.context["summary"]
    assert headline["signed"] == 7
    confirmed = in_range.filter(status="confirmed").count()
    assert headline["confirmed"] == confirmed
    assert headline["so_far"] == before + confirmed == charts["daily"].rows[-1][4]


def test_a_bad_date_range_is_a_message_not_a_500(client, organiser, campaign):
    client.force_login(organiser)
    response = client.get(url(campaign, since="2026-07-08", until="2026-07-01"))
    assert response.status_code == 400
    assert "must not be after" in response.content.decode()
    response = client.get(url(campaign, since="yesterday"))
    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.content.decode()


def test_the_last_48_hours_are_counted_live(campaign):
    with time_machine.travel(NOW, tick=False):
        signed(campaign, utc(2026, 7, 10, 11, 15), confirmed_after=timedelta(1))
        signed(campaign, utc(2026, 7, 10, 11, 45))
        signed(campaign, utc(2026, 7, 8, 11, 59))  # 48 h ago and more: not shown
        data = dashboard_data(campaign=campaign, since=None, until=None)
    assert len(data.hours) == 48
    assert sum(c + p for _, c, p in data.hours) == 2
    hour, confirmed, pending = data.hours[-2]  # the last is 12:xx UTC, now
    assert (hour.hour, confirmed, pending) == (12, 1, 1)  # 11:xx UTC is 12:xx BST


def test_the_query_count_is_pinned(
    client, organiser, campaign, history, django_assert_num_queries
):
    with time_machine.travel(NOW, tick=False):
        campaign_tallies_refresh(campaign_id=campaign.pk)
        client.force_login(organiser)
        client.get(url(campaign))  # warm the session and permission caches
        # session, user, its and its groups' permissions; campaign, first day,
        # letters, days, last 48 hours, sources, districts, refresh time
        with django_assert_num_queries(12):
            response = client.get(url(campaign))
    assert response.status_code == 200


def test_a_rebuild_replaces_the_tallies(campaign, history):
    with time_machine.travel(NOW, tick=False):
        campaign_tallies_refresh(campaign_id=campaign.pk)
        before = SignatureTally.objects.filter(dimension="total").count()
        Signature.objects.filter(status="pending").update(status="confirmed")
        call_command("refresh_dashboards", stdout=io.StringIO())  # what beat would
    after = SignatureTally.objects.filter(campaign=campaign, dimension="total")
    assert after.count() == before
    assert all(t.signed == t.confirmed for t in after)


def test_beat_keeps_live_and_recently_closed_campaigns_current(campaign):
    from campaign.services.tallies import campaigns_due_for_tallies
    from tests.factories import CampaignFactory

    long_closed = CampaignFactory(status="closed", closes_at=NOW - timedelta(days=8))
    draft = CampaignFactory(status="draft")
    with time_machine.travel(NOW, tick=False):
        just_closed = CampaignFactory(status="closed", closes_at=NOW - timedelta(1))
        due = set(campaigns_due_for_tallies())
    assert campaign.pk in due and just_closed.pk in due
    assert long_closed.pk not in due and draft.pk not in due


def test_the_refresh_command_names_unknown_slugs(campaign, history):
    out = io.StringIO()
    call_command("refresh_dashboards", campaign.slug, stdout=out)
    assert f"{campaign.slug}: refreshed" in out.getvalue()
    assert SignatureTally.objects.filter(campaign=campaign).exists()
    with pytest.raises(CommandError, match="nope"):
        call_command("refresh_dashboards", "nope")


def test_the_admin_links_to_the_dashboard(client, organiser, campaign):
    organiser.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_campaign", "change_campaign"])
    )
    client.force_login(organiser)
    link = reverse("admin:campaign_campaign_dashboard", args=[campaign.pk])
    for page in (
        reverse("admin:index"),
        reverse("admin:campaign_campaign_change", args=[campaign.pk]),
        reverse("admin:campaign_campaign_changelist"),
    ):
        assert f'href="{link}"' in client.get(page).content.decode(), page


def test_before_the_first_rebuild_the_page_says_so(client, organiser, campaign):
    client.force_login(organiser)
    response = client.get(url(campaign))
    assert response.status_code == 200
    assert "Daily figures are not counted yet" in response.content.decode()
