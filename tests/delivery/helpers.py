"""Small helpers the worker tests share."""

from campaign.models import Letter


def blocked_consumers(broker) -> list[dict]:
    db = str(broker.connection_pool.connection_kwargs.get("db", 0))
    return [c for c in broker.client_list() if c["db"] == db and c["cmd"] == "brpop"]


def letters_in(status: str, count: int):
    return lambda: Letter.objects.filter(status=status).count() >= count
