"""Thin Celery tasks: each takes an id and calls one service.

The services decide everything (claim, send, record, when to try again); a task
only turns "try again in N seconds" into a Celery retry with that countdown (N is
bounded: see countdown() in campaign/services/delivery/policy.py).

Each task imports the delivery services in its body: the outbox registry
(campaign/services/delivery/registry.py) holds these task objects, so importing
delivery here, at module level, would be an import cycle.
"""

from typing import TYPE_CHECKING

from celery import Task, shared_task

if TYPE_CHECKING:
    from campaign.services.delivery import DeliveryResult


def _follow_up(task: Task, result: "DeliveryResult") -> str:
    # Eager mode (no broker: the quick start) runs a retry at once and
    # recursively; leave the row pending instead, as the sweeper would find it.
    if result.retry_in is not None and not task.request.is_eager:
        raise task.retry(countdown=max(result.retry_in, 0))
    return result.outcome


# max_retries=None: the service gives up (DELIVERY_GIVE_UP_AFTER_HOURS), not Celery.
@shared_task(bind=True, max_retries=None)
def letter_send_task(self: Task, letter_id: int) -> str:
    from campaign.services.delivery import letter_send

    return _follow_up(self, letter_send(letter_id=letter_id))


@shared_task(bind=True, max_retries=None)
def confirmation_send_task(self: Task, confirmation_id: int) -> str:
    from campaign.services.delivery import confirmation_send

    return _follow_up(self, confirmation_send(confirmation_id=confirmation_id))


@shared_task
def outbox_sweep_task() -> dict:
    from campaign.services.delivery import outbox_sweep

    return outbox_sweep()


@shared_task(bind=True, max_retries=None)
def digest_send_task(self: Task, digest_id: int) -> str:
    from campaign.services.delivery import digest_send

    return _follow_up(self, digest_send(digest_id=digest_id))


@shared_task
def digests_send_task() -> list[int]:
    """Beat, daily at DIGEST_SEND_TIME: create and queue the due digests."""
    from campaign.services.digests import digests_create_due

    return digests_create_due()
