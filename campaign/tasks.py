"""Thin Celery tasks: each takes an id and calls one service."""

from celery import shared_task

from campaign.services import delivery


@shared_task
def letter_send_task(letter_id: int) -> None:
    delivery.letter_send(letter_id=letter_id)


@shared_task
def confirmation_send_task(confirmation_id: int) -> None:
    delivery.confirmation_send(confirmation_id=confirmation_id)
