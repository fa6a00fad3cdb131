"""Packs built by the real worker: asked for in the admin, progress recorded,
downloaded by staff only; a worker killed mid-build; builds that keep dying are
given up on; deleting a pack deletes its file."""

import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaign.models import HandinPack
from campaign.services import handin as handin_service
from tests.factories import CampaignFactory, StaffUserFactory, bulk_signatures
from tests.handin.conftest import handin_campaign_create, pack_read
from tests.support.waiting import wait_until
from tests.support.worker import (
    WORKER_APPLICATION_NAME,
    kill_worker_database_connections,
    wait_for_idle_broker,
)


def worker_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        # Inside a transaction, pg_stat_activity is read once and kept: drop that
        # snapshot so every poll sees the backends as they are now.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
            " AND wait_event_type = 'Lock'",
            [WORKER_APPLICATION_NAME],
        )
        return cursor.fetchone()[0] > 0


def handin_files() -> set[Path]:
    return {p for p in Path(settings.MEDIA_ROOT, "handin").rglob("*") if p.is_file()}


def pack_status(pk: int, *statuses: str):
    def check():
        pack = HandinPack.objects.get(pk=pk)
        return pack if pack.status in statuses else None

    return check


def test_the_admin_button_builds_a_pack_that_only_staff_download(
    worker, staff_client, tmp_path
):
    handin = handin_campaign_create()
    campaign = handin.campaign
    page = staff_client.get(
        reverse("admin:campaign_campaign_handin", args=[campaign.pk])
    )
    assert page.status_code == 200
    assert "5 signatures excluded so far" in page.content.decode()

    response = staff_client.post(
        reverse("admin:campaign_campaign_handin", args=[campaign.pk]), {"official": ""}
    )
    pack = HandinPack.objects.get()
    assert response.url == reverse("admin:campaign_handinpack_change", args=[pack.pk])
    pack = wait_until(pack_status(pack.pk, "done", "failed"), 60, "the pack")
    assert (pack.status, pack.error) == ("done", "")
    assert (pack.supporters, pack.excluded, pack.built_by) == (
        500,
        5,
        staff_client.user,
    )
    assert pack.rows_done == pack.rows_total == 525
    assert pack.size == Path(pack.file.path).stat().st_size > 0

    progress = staff_client.get(reverse("campaign:handin_progress", args=[pack.pk]))
    assert progress.json()["percent"] == 100
    download_url = progress.json()["download_url"]
    download = staff_client.get(download_url)
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert "no-store" in download["Cache-Control"]
    pack_text = pack_read(b"".join(download.streaming_content), tmp_path)
    assert "500 supporters" in pack_text.pdf_text
    assert len(pack_text.csv_rows) == 501
    listing = staff_client.get(reverse("admin:campaign_handinpack_changelist"))
    assert download_url in listing.content.decode()

    # Not staff, staff without the permission: 403 before anything is looked up.
    outsider = Client()
    outsider.force_login(StaffUserFactory(username="outsider", is_staff=False))
    organiser = Client()
    organiser.force_login(StaffUserFactory(username="no-packs"))
    for client in (outsider, organiser):
        assert client.get(download_url).status_code == 403
        assert (
            client.get(reverse("campaign:handin_progress", args=[pack.pk])).status_code
            == 403
        )
        missing = reverse("campaign:handin_download", args=[pack.pk + 1000])
        assert client.get(missing).status_code == 403
    anonymous = Client().get(download_url)
    assert anonymous.status_code == 302 and "login" in anonymous.url
    # The file itself is never served as a public file.
    media = "/" + settings.MEDIA_URL + pack.file.name
    assert Client().get(media).status_code == 404
    assert staff_client.get(media).status_code == 404


def test_a_worker_killed_mid_build_leaves_it_to_the_sweep_which_builds_it_again(
    worker, broker
):
    campaign = CampaignFactory()
    bulk_signatures(campaign, 5_000, status="confirmed", confirmed_at=timezone.now())
    before = handin_files()
    pack = handin_service.handin_pack_request(campaign=campaign)
    wait_until(pack_status(pack.pk, "building"), 60, "the worker to claim the build")
    # Deterministic "mid-build": while this test holds the pack's row, the
    # build's next progress write (or its final record) waits for it. The worker
    # dies there, with its database connections.
    with transaction.atomic():
        HandinPack.objects.select_for_update().get(pk=pack.pk)
        wait_until(worker_waits_on_a_lock, 60, "the build to wait for the pack's row")
        worker.kill()
        assert kill_worker_database_connections() >= 1
    # What the killed attempt left (supporters' names: its .part with the PDF
    # and CSV not yet zipped, or its zip never recorded, as far as it got) is
    # all in the pack's own directory.
    left = handin_files() - before
    pack_dir = Path(settings.MEDIA_ROOT, "handin", str(pack.pk))
    pack.refresh_from_db()
    orphaned = broker.hkeys("unacked")  # redelivered by Redis only hours later
    worker.start()
    try:
        assert pack.status == "building" and pack.rows_done < 5_000
        assert left and all(pack_dir in path.parents for path in left)
        assert {path.suffix for path in left} <= {".part", ".pdf", ".csv", ".zip"}
        # Before the heartbeat is stale, the sweep leaves it alone...
        assert handin_service.handin_packs_sweep() == {"requeued": 0, "failed": 0}
        later = timezone.now() + timedelta(
            seconds=settings.HANDIN_STALE_AFTER_SECONDS + 1
        )
        with time_machine.travel(later, tick=False):
            swept = handin_service.handin_packs_sweep()
        assert swept == {"requeued": 1, "failed": 0}
        pack = wait_until(pack_status(pack.pk, "done", "failed"), 60, "the rebuild")
    finally:
        if orphaned:
            broker.hdel("unacked", *orphaned)
            broker.zrem("unacked_index", *orphaned)
    wait_for_idle_broker(broker)
    assert (pack.status, pack.attempts, pack.supporters) == ("done", 2, 5_000)
    with zipfile.ZipFile(pack.file.path) as archive:
        csv_name = next(n for n in archive.namelist() if n.endswith(".csv"))
        assert archive.read(csv_name).count(b"\r\n") == 5_001
    # Nothing of the killed attempt remains anywhere under MEDIA_ROOT/handin.
    assert handin_files() - before == {Path(pack.file.path)}
    assert list(pack_dir.rglob("*")) == [
        Path(pack.file.path).parent,
        Path(pack.file.path),
    ]


@pytest.mark.django_db
def test_a_build_that_keeps_dying_is_marked_failed_never_left_building(
    django_capture_on_commit_callbacks,
):
    campaign = CampaignFactory()
    stale = timezone.now() - timedelta(seconds=settings.HANDIN_STALE_AFTER_SECONDS + 1)
    pack = HandinPack.objects.create(
        campaign=campaign, status="building", attempts=handin_service.MAX_ATTEMPTS,
        task_id="dead", heartbeat_at=stale,
    )  # fmt: skip
    fresh = HandinPack.objects.create(
        campaign=campaign, status="building", attempts=1, task_id="alive",
        heartbeat_at=timezone.now(),
    )  # fmt: skip
    # What its killed attempts left (as the kill test above shows them).
    leftover = Path(settings.MEDIA_ROOT, "handin", str(pack.pk), "a1", ".x.zip.part")
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_text("Ada Lovelace")
    with django_capture_on_commit_callbacks(execute=True):
        assert handin_service.handin_packs_sweep() == {"requeued": 0, "failed": 1}
    assert not leftover.parent.parent.exists()
    pack.refresh_from_db()
    assert pack.status == "failed"
    assert "interrupted 3 times" in pack.error
    fresh.refresh_from_db()
    assert fresh.status == "building"
    # A second delivery of another task does not take a live build over; the
    # same task redelivered (its worker died) does.
    assert handin_service.handin_pack_build(pack_id=fresh.pk, task_id="other") is None
    assert handin_service.handin_pack_build(pack_id=fresh.pk, task_id="alive")
    fresh.refresh_from_db()
    assert (fresh.status, fresh.attempts) == ("done", 2)


@pytest.mark.django_db
def test_deleting_a_pack_deletes_its_file(django_capture_on_commit_callbacks):
    campaign = CampaignFactory()
    bulk_signatures(campaign, 3, status="confirmed")
    pack = HandinPack.objects.create(campaign=campaign)
    handin_service.handin_pack_build(pack_id=pack.pk, task_id="t")
    pack.refresh_from_db()
    path = Path(pack.file.path)
    assert pack.status == "done" and path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        handin_service.handin_pack_delete(pack=pack)
    assert not path.exists() and not path.parent.exists()
    assert not Path(settings.MEDIA_ROOT, "handin", str(pack.pk)).exists()
    assert not HandinPack.objects.exists()


@pytest.mark.django_db
def test_the_admin_deletes_packs_with_their_files(
    staff_client, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory()
    paths = []
    for _ in range(2):
        pack = HandinPack.objects.create(campaign=campaign)
        handin_service.handin_pack_build(pack_id=pack.pk, task_id="t")
        pack.refresh_from_db()
        paths.append(Path(pack.file.path))
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:campaign_handinpack_changelist"),
            {
                "action": "delete_selected",
                "_selected_action": list(
                    HandinPack.objects.values_list("pk", flat=True)
                ),
                "post": "yes",
            },
        )
    assert response.status_code == 302
    assert not HandinPack.objects.exists()
    assert not any(path.exists() for path in paths)


def test_permission_to_build(db):
    user = StaffUserFactory(username="viewer")
    user.user_permissions.add(Permission.objects.get(codename="view_handinpack"))
    client = Client()
    client.force_login(user)
    campaign = CampaignFactory()
    url = reverse("admin:campaign_campaign_handin", args=[campaign.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"official": ""}).status_code == 403
    assert not HandinPack.objects.exists()


def test_the_build_task_has_its_own_time_limit_and_acks_late():
    from campaign.tasks import handin_pack_build_task

    assert handin_pack_build_task.time_limit == settings.HANDIN_TIME_LIMIT_SECONDS
    assert handin_pack_build_task.time_limit > settings.CELERY_TASK_TIME_LIMIT
    assert (
        0 < handin_pack_build_task.soft_time_limit < handin_pack_build_task.time_limit
    )
    assert handin_pack_build_task.acks_late is True


@pytest.mark.django_db
def test_the_pack_list_costs_the_same_queries_for_one_pack_or_many(staff_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    campaign = CampaignFactory()
    url = reverse("admin:campaign_handinpack_changelist")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(url).status_code == 200
        return len(captured)

    HandinPack.objects.create(campaign=campaign, built_by=staff_client.user)
    one = queries()
    for official in campaign.targets.all():
        for _ in range(3):
            HandinPack.objects.create(
                campaign=campaign, official=official, built_by=staff_client.user
            )
    assert queries() == one


@pytest.mark.django_db
def test_a_builds_temporary_files_are_in_its_pack_directory_and_cleared_on_claim(
    monkeypatch,
):
    campaign = CampaignFactory()
    bulk_signatures(campaign, 3, status="confirmed", confirmed_at=timezone.now())
    pack = HandinPack.objects.create(campaign=campaign)
    pack_dir = Path(settings.MEDIA_ROOT, "handin", str(pack.pk))
    # An earlier attempt, killed: its files stay until the build is claimed again.
    stale = pack_dir / "killed" / ".handin-x" / "save-handin.csv"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("Ada Lovelace")
    during = []
    start = handin_service._Progress.start

    def look(progress, facts):  # mid-build: what is on disk, and where
        during.extend(handin_files())
        start(progress, facts)

    monkeypatch.setattr(handin_service._Progress, "start", look)
    outside = handin_files() - set(pack_dir.rglob("*"))
    handin_service.handin_pack_build(pack_id=pack.pk, task_id="t")
    pack.refresh_from_db()
    assert pack.status == "done"
    written = {p for p in during if p not in outside}
    assert {p.suffix for p in written} == {".part", ".pdf", ".csv"}
    assert all(pack_dir in p.parents for p in written) and stale not in written
    assert handin_files() - outside == {Path(pack.file.path)}
