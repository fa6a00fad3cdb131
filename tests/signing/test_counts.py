"""The signature count on campaign pages: counted in one grouped query, cached in
the suite's real Redis, incremented atomically on confirmation."""

import threading

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import cache

from campaign import selectors
from tests.factories import CampaignFactory, SignatureFactory

pytestmark = pytest.mark.django_db


def test_signature_counts_are_cached_and_grouped(django_assert_num_queries):
    one, two = CampaignFactory(), CampaignFactory()
    SignatureFactory.create_batch(3, campaign=one, status="confirmed")
    SignatureFactory(campaign=one)  # pending: not counted
    with django_assert_num_queries(1):
        counts = selectors.signature_counts(campaign_ids=[one.pk, two.pk])
    assert counts == {one.pk: 3, two.pk: 0}
    SignatureFactory(campaign=one, status="confirmed")
    with django_assert_num_queries(0):
        assert selectors.signature_count(campaign_id=one.pk) == 3  # cached
        selectors.signature_count_increment(campaign_id=one.pk)  # no recount
        assert selectors.signature_count(campaign_id=one.pk) == 4
    cache.clear()


def _redis_ttl(key: str) -> int:
    """The key's TTL in Redis itself (-1: none, -2: no such key)."""
    client = redis.Redis.from_url(django_settings.CACHES["default"]["LOCATION"])
    try:
        return client.ttl(cache.make_and_validate_key(key))
    finally:
        client.close()


def test_count_increment_is_atomic_and_keeps_the_expiry(settings):
    """Against the suite's real Redis cache (CACHE_URL)."""
    assert "RedisCache" in settings.CACHES["default"]["BACKEND"]
    campaign = CampaignFactory()
    key = selectors._count_key(campaign.pk)
    cache.set(key, 41, 600)

    threads = [
        threading.Thread(
            target=selectors.signature_count_increment,
            kwargs={"campaign_id": campaign.pk},
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert cache.get(key) == 49  # no increment lost
    assert 0 < _redis_ttl(key) <= 600  # INCR keeps the expiry set with the count


def test_count_increment_without_a_cached_count_leaves_it_to_the_next_view():
    campaign = CampaignFactory()
    SignatureFactory.create_batch(2, campaign=campaign, status="confirmed")
    selectors.signature_count_increment(campaign_id=campaign.pk)
    assert _redis_ttl(selectors._count_key(campaign.pk)) == -2  # nothing created
    assert selectors.signature_count(campaign_id=campaign.pk) == 2


def test_count_increment_drops_a_key_that_expired_under_it(monkeypatch):
    """Django's incr() is EXISTS then INCR: if the key expires in between, INCR
    creates it at 1 with no expiry, a wrong count forever. It must be deleted."""
    campaign = CampaignFactory()
    SignatureFactory.create_batch(5, campaign=campaign, status="confirmed")
    key = selectors._count_key(campaign.pk)
    cache.set(key, 4, 600)
    real_exists = redis.Redis.exists

    def exists_then_expire(client, *names):
        found = real_exists(client, *names)
        client.delete(*names)  # expires right after the check
        return found

    monkeypatch.setattr(redis.Redis, "exists", exists_then_expire)
    selectors.signature_count_increment(campaign_id=campaign.pk)
    monkeypatch.undo()

    assert _redis_ttl(key) == -2  # not left behind without an expiry
    assert selectors.signature_count(campaign_id=campaign.pk) == 5  # recounted
    assert _redis_ttl(key) > 0
