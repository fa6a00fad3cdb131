"""Hand-in packs: asked for in the admin, built by the worker with its progress on
the HandinPack row, swept up when the worker building one died, and deleted with
their file. What a pack holds: campaign/handin/.

A build holds its claim through `task_id` and a heartbeat (every progress report).
A redelivery of the same task (acks_late: its worker died) takes the claim over at
once; anything else only once the heartbeat is HANDIN_STALE_AFTER_SECONDS old,
which is also when the sweep queues the build again. After MAX_ATTEMPTS starts it
is marked failed: a pack is never left "building" for ever.

Everything a build writes (the zip, its .part, the PDF and CSV before they are
zipped: supporters' names all) lives in the pack's own directory,
MEDIA_ROOT/handin/<pk>/<random>/, so what a killed attempt leaves is found and
removed when the build is claimed again, fails for good, or the pack is deleted.
"""

import contextlib
import logging
import os
import shutil
import time
import uuid
from datetime import timedelta
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from campaign.handin.archive import handin_zip_write, pack_basename
from campaign.handin.fonts import FontMissing
from campaign.models import Campaign, HandinPack, Official

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
PROGRESS_SECONDS = 0.5  # at most this often a progress write (it is a heartbeat too)
_Status = HandinPack.Status


def handin_pack_request(
    *, campaign: Campaign, official: Official | None = None, user=None
) -> HandinPack:
    """A new pack, queued for the worker after commit."""
    with transaction.atomic():
        pack = HandinPack.objects.create(
            campaign=campaign,
            official=official,
            built_by=user,
            heartbeat_at=timezone.now(),
        )
        transaction.on_commit(lambda: handin_pack_enqueue(pack_id=pack.pk), robust=True)
    return pack


def handin_pack_enqueue(*, pack_id: int) -> None:
    """Hand a pack to the worker (after commit). A broker that is down loses
    nothing: the pack stays queued and the sweep queues it again."""
    from campaign.tasks import handin_pack_build_task

    try:
        handin_pack_build_task.delay(pack_id)
    except OperationalError:
        logger.warning(
            "Broker unavailable: hand-in pack %s left for the sweep", pack_id
        )


def _claim(pack_id: int, task_id: str) -> HandinPack | None:
    now = timezone.now()
    stale = now - timedelta(seconds=settings.HANDIN_STALE_AFTER_SECONDS)
    ours = (
        Q(status=_Status.QUEUED)
        | Q(status=_Status.BUILDING, task_id=task_id)
        | Q(status=_Status.BUILDING, heartbeat_at__lt=stale)
    )
    claimed = HandinPack.objects.filter(ours, pk=pack_id).update(
        status=_Status.BUILDING,
        task_id=task_id,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        rows_done=0,
        error="",
    )
    if not claimed:
        return None  # built, failed, deleted, or another delivery is on it
    pack = HandinPack.objects.select_related("campaign", "official").get(pk=pack_id)
    if pack.attempts > MAX_ATTEMPTS:
        _record_failed(pack, task_id, _gave_up(pack.attempts - 1))
        return None
    # An earlier attempt killed mid-build (SIGKILL runs no cleanup) left its
    # files; the claim is ours now, so no other build is writing there.
    _remove_pack_files(pack.pk)
    return pack


def _gave_up(attempts: int) -> str:
    return (
        f"The build was interrupted {attempts} times (its worker stopped or was "
        "restarted); not tried again. Build a new pack."
    )


class _Progress:
    """Progress reports on a database connection of the build's own: the build
    reads inside one long snapshot transaction, whose writes nobody would see
    before it ends."""

    def __init__(self, pack_id: int, task_id: str) -> None:
        self.pack_id, self.task_id = pack_id, task_id
        # SQLite (the quick start: tasks run in the request) takes no snapshot,
        # and a second connection there would wait on the first one's lock.
        self.own = connection.vendor == "postgresql"
        self.connection = (
            connections.create_connection("default") if self.own else connection
        )
        self.rows, self.last = 0, 0.0

    def start(self, facts) -> None:
        self._write(rows_total=facts.personal + facts.supporters, rows_done=0)

    def add(self, rows: int) -> None:
        self.rows += rows
        if time.monotonic() - self.last >= PROGRESS_SECONDS:
            self._write(rows_done=self.rows)

    def _write(self, **fields) -> None:
        self.last = time.monotonic()
        assignments = ", ".join(f"{name} = %s" for name in fields)
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {HandinPack._meta.db_table} SET {assignments}, "  # noqa: S608
                "heartbeat_at = %s WHERE id = %s AND task_id = %s",
                [*fields.values(), timezone.now(), self.pack_id, self.task_id],
            )

    def close(self) -> None:
        if self.own:
            self.connection.close()


def handin_pack_build(*, pack_id: int, task_id: str) -> HandinPack | None:
    """Build a claimed pack into MEDIA_ROOT/handin/<pk>/<random>/ and record it;
    a failure is recorded with its reason. Returns the pack, or None when this
    delivery had nothing to do."""
    pack = _claim(pack_id, task_id)
    if pack is None:
        return None
    basename = pack_basename(campaign=pack.campaign, official=pack.official)
    # A directory per attempt, unguessable for a start: a build that lost its
    # claim while still running never writes over its successor's files.
    attempt = f"{_pack_dir_name(pack.pk)}/{uuid.uuid4().hex}"
    name = f"{attempt}/{basename}.zip"
    path = Path(settings.MEDIA_ROOT, name)
    partial = path.with_name(f".{path.name}.part")
    progress = _Progress(pack.pk, task_id)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as out:
            facts = handin_zip_write(
                campaign=pack.campaign,
                official=pack.official,
                out=out,
                on_start=progress.start,
                on_rows=progress.add,
                tmp_dir=path.parent,
            )
        os.replace(partial, path)
    except SoftTimeLimitExceeded:
        limit = settings.HANDIN_TIME_LIMIT_SECONDS
        _build_failed(pack, task_id, path, f"The build took longer than {limit} s.")
        return pack
    except (FontMissing, OSError) as exc:
        _build_failed(pack, task_id, path, str(exc))
        return pack
    except Exception:
        logger.exception("hand-in pack %s failed", pack.pk)
        error = "The build failed; the worker's log says why."
        _build_failed(pack, task_id, path, error)
        return pack
    finally:
        progress.close()
        partial.unlink(missing_ok=True)
    done = HandinPack.objects.filter(
        pk=pack.pk, status=_Status.BUILDING, task_id=task_id
    ).update(
        status=_Status.DONE,
        file=name,
        size=path.stat().st_size,
        supporters=facts.supporters,
        excluded=facts.excluded,
        rows_done=F("rows_total"),
        finished_at=timezone.now(),
    )
    if not done:  # deleted (or given up on) while it was being built
        shutil.rmtree(path.parent, ignore_errors=True)
    logger.info(
        "hand-in pack %s built: %s supporters", pack.pk, facts.supporters,
        extra={"handin_pack_id": pack.pk},
    )  # fmt: skip
    return pack


def _build_failed(pack: HandinPack, task_id: str, path: Path, error: str) -> None:
    # This attempt's own files go whoever holds the claim now.
    shutil.rmtree(path.parent, ignore_errors=True)
    _record_failed(pack, task_id, error)


def _record_failed(pack: HandinPack, task_id: str, error: str) -> None:
    failed = (
        HandinPack.objects.filter(pk=pack.pk, task_id=task_id)
        .exclude(status=_Status.DONE)
        .update(status=_Status.FAILED, error=error, finished_at=timezone.now())
    )
    if failed:  # failed for good: whatever earlier attempts left goes too
        _remove_pack_files(pack.pk)


def handin_packs_sweep(*, now=None) -> dict[str, int]:
    """Beat: packs whose build shows no sign of life (its worker died, or its
    message was lost) are queued again, or failed after MAX_ATTEMPTS starts."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.HANDIN_STALE_AFTER_SECONDS)
    requeued, failed = [], []
    with transaction.atomic():
        packs = HandinPack.objects.select_for_update(skip_locked=True).filter(
            status__in=[_Status.QUEUED, _Status.BUILDING], heartbeat_at__lt=stale
        )
        for pack in packs:
            if pack.attempts >= MAX_ATTEMPTS:
                pack.status, pack.error = _Status.FAILED, _gave_up(pack.attempts)
                pack.finished_at = now
                failed.append(pack.pk)
            else:
                pack.status, pack.task_id = _Status.QUEUED, ""
                requeued.append(pack.pk)
            pack.heartbeat_at = now
            pack.save(
                update_fields=[
                    "status",
                    "error",
                    "finished_at",
                    "task_id",
                    "heartbeat_at",
                ]
            )
        for pk in requeued:
            transaction.on_commit(
                lambda pk=pk: handin_pack_enqueue(pack_id=pk), robust=True
            )
        for pk in failed:  # what its killed attempts left
            transaction.on_commit(lambda pk=pk: _remove_pack_files(pk), robust=True)
    return {"requeued": len(requeued), "failed": len(failed)}


def handin_pack_delete(*, pack: HandinPack) -> None:
    """Delete the pack and, once that is committed, its files."""
    name, pk = pack.file.name, pack.pk
    with transaction.atomic():
        pack.delete()
        transaction.on_commit(lambda: _remove_pack_files(pk, name), robust=True)


def _pack_dir_name(pk: int) -> str:
    return f"handin/{int(pk)}"


def _remove_pack_files(pk: int, name: str = "") -> None:
    """The pack's directory, and `name` where an older build put it (in a
    random directory of its own, straight under handin/)."""
    shutil.rmtree(Path(settings.MEDIA_ROOT, _pack_dir_name(pk)), ignore_errors=True)
    if name:
        path = Path(settings.MEDIA_ROOT, name)
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty, or gone already
            path.parent.rmdir()
