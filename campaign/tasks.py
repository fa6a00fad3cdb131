"""Thin Celery tasks: each takes an id and calls one service.

The services decide everything (claim, send, record, when to try again); a task
only turns "try again in N seconds" into a Celery retry with that countdown. N is
never more than DELIVERY_COUNTDOWN_MAX_SECONDS, below the broker's visibility
timeout (config/settings.py), so a waiting message is never handed out twice.
"""

from celery import Task, shared_task

from campaign.services import delivery


def _follow_up(task: Task, result: delivery.DeliveryResult) -> str:
    # Eager mode (no broker: the quick start) runs a retry at once and
    # recursively; leave the row pending instead, as the sweeper would find it.
    if result.retry_in is not None and not task.request.is_eager:
        raise task.retry(countdown=max(result.retry_in, 0))
    return result.outcome


# max_retries=None: the service gives up (DELIVERY_GIVE_UP_AFTER_HOURS), not Celery.
@shared_task(bind=True, max_retries=None)
def letter_send_task(self: Task, letter_id: int) -> str:
    return _follow_up(self, delivery.letter_send(letter_id=letter_id))


@shared_task(bind=True, max_retries=None)
def confirmation_send_task(self: Task, confirmation_id: int) -> str:
    return _follow_up(self, delivery.confirmation_send(confirmation_id=confirmation_id))


@shared_task
def outbox_sweep_task() -> dict:
    return delivery.outbox_sweep()
