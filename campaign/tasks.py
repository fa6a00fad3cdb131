"""Thin Celery tasks: each takes a list of ids and calls one service.

The services decide everything (claim, send, record, when to try again); a
sending task only publishes the rows to try again, each group of rows due
together as one task with that countdown (bounded: see countdown() in
campaign/services/delivery/policy.py).

Each task imports the delivery services in its body: the outbox registry
(campaign/services/delivery/registry.py) holds these task objects, so importing
delivery here, at module level, would be an import cycle.
"""

from typing import TYPE_CHECKING

from celery import Task, shared_task
from django.conf import settings

if TYPE_CHECKING:
    from campaign.services.delivery import BatchResult


def _follow_up(task: Task, result: "BatchResult") -> dict[str, int]:
    # Eager mode (no broker: the quick start) runs a task at once and
    # recursively; leave the rows pending instead, as the sweeper would find them.
    if not task.request.is_eager:
        for countdown, ids in result.follow_ups():
            task.apply_async(args=[ids], countdown=countdown)
    return result.counts()


@shared_task(bind=True)
def letters_send_task(self: Task, letter_ids: list[int]) -> dict[str, int]:
    from campaign.services.delivery import letters_send

    return _follow_up(self, letters_send(letter_ids=letter_ids))


@shared_task(bind=True)
def confirmations_send_task(self: Task, confirmation_ids: list[int]) -> dict[str, int]:
    from campaign.services.delivery import confirmations_send

    return _follow_up(self, confirmations_send(confirmation_ids=confirmation_ids))


@shared_task(bind=True)
def receipts_send_task(self: Task, receipt_ids: list[int]) -> dict[str, int]:
    from campaign.services.delivery import receipts_send

    return _follow_up(self, receipts_send(receipt_ids=receipt_ids))


@shared_task(bind=True)
def update_emails_send_task(self: Task, update_email_ids: list[int]) -> dict[str, int]:
    from campaign.services.delivery import update_emails_send

    return _follow_up(self, update_emails_send(update_email_ids=update_email_ids))


@shared_task
def update_pace_task(update_id: int) -> int:
    """After "send" or "resume": hand the worker the update's first copies."""
    from campaign.services.updates import update_enqueue_due

    return update_enqueue_due(update_id=update_id)


@shared_task
def updates_pace_task() -> dict[int, int]:
    """Beat, every sweep interval: the next copies of every update being sent."""
    from campaign.services.updates import updates_enqueue_due

    return updates_enqueue_due()


@shared_task
def receipts_create_due_task() -> list[int]:
    """Beat, every sweep interval: queue the receipts now owed to supporters."""
    from campaign.services.receipts import receipts_create_due

    return receipts_create_due()


@shared_task
def outbox_sweep_task() -> dict:
    from campaign.services.delivery import outbox_sweep

    return outbox_sweep()


@shared_task(bind=True)
def digests_deliver_task(self: Task, digest_ids: list[int]) -> dict[str, int]:
    from campaign.services.delivery import digests_send

    return _follow_up(self, digests_send(digest_ids=digest_ids))


@shared_task
def digests_send_task() -> list[int]:
    """Beat, daily at DIGEST_SEND_TIME: create and queue the due digests."""
    from campaign.services.digests import digests_create_due

    return digests_create_due()


@shared_task(bind=True)
def retention_task(self: Task, batch_size: int | None = None) -> dict[str, int]:
    """Beat, daily: one batch of retention (campaign/services/retention.py); a
    batch that did something queues the next, so no task runs long."""
    from campaign.services.retention import BATCH_SIZE, retention_step

    step = retention_step(batch_size=batch_size or BATCH_SIZE)
    if step.changed and not self.request.is_eager:
        self.apply_async(kwargs={"batch_size": batch_size})
    return step.counts()


@shared_task
def questionnaires_send_task() -> dict[str, int]:
    """Beat, daily: ask "did they reply?" about letters now due, and remind."""
    from dataclasses import asdict

    from campaign.services.questionnaires import questionnaires_send_due

    return asdict(questionnaires_send_due())


@shared_task
def tallies_refresh_task() -> list[int]:
    """Beat, every DASHBOARD_REFRESH_SECONDS: queue the dashboards' rebuilds."""
    from campaign.services.tallies import tallies_refresh_enqueue_due

    return tallies_refresh_enqueue_due()


@shared_task
def campaign_tallies_refresh_task(campaign_id: int) -> float:
    from campaign.services.tallies import campaign_tallies_refresh

    return campaign_tallies_refresh(campaign_id=campaign_id).seconds


@shared_task(
    bind=True,
    acks_late=True,
    # Its own limits, well above CELERY_TASK_TIME_LIMIT: a big pack takes minutes.
    time_limit=settings.HANDIN_TIME_LIMIT_SECONDS,
    soft_time_limit=max(settings.HANDIN_TIME_LIMIT_SECONDS - 30, 1),
)
def handin_pack_build_task(self: Task, pack_id: int) -> None:
    from campaign.services.handin import handin_pack_build

    handin_pack_build(pack_id=pack_id, task_id=self.request.id or "")


@shared_task
def handin_packs_sweep_task() -> dict[str, int]:
    """Beat, every sweep interval: builds whose worker died are queued again."""
    from campaign.services.handin import handin_packs_sweep

    return handin_packs_sweep()
