"""Vetting in the admin: the "looks fake" filter, excluding with a reason (and
undoing it); excluded signatures still count on the site."""

import pytest
from django.urls import reverse

from campaign import selectors
from campaign.models import Signature
from campaign.vetting import (
    SHARED_ADDRESS_MIN,
    Suspicion,
    _shared_address_ids,
    signatures_looking_fake,
)
from tests.factories import CampaignFactory, SignatureFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:campaign_signature_changelist")


@pytest.fixture
def signers():
    campaign = CampaignFactory()
    other = CampaignFactory()

    def sign(name, email="{n}@example.com", ip="", on=campaign):
        return SignatureFactory(
            campaign=on, full_name=name, status="confirmed", client_ip_hash=ip,
            email=email.format(n=name.split()[0].lower()),
        )  # fmt: skip

    found = {
        "plain": sign("Ada Lovelace"),
        "digits": sign("John Smith 1234"),
        "url": sign("Cheap pills www.spam.example"),
        "url2": sign("Visit casino.xyz today"),
        "disposable": sign("Grace Hopper", email="grace@mailinator.com"),
        "crowd": [
            sign(f"Person {chr(65 + i)}", email=f"p{i}@example.com", ip="h1")
            for i in range(SHARED_ADDRESS_MIN)
        ],
        "household": [
            sign(f"Home {chr(65 + i)}", email=f"h{i}@example.com", ip="h2")
            for i in range(SHARED_ADDRESS_MIN - 1)
        ],
    }
    # The same address on another campaign does not make a crowd here.
    sign("Elsewhere", email="e@example.com", ip="h2", on=other)
    return found


def names(queryset):
    return sorted(queryset.values_list("full_name", flat=True))


@pytest.mark.parametrize(
    ("suspicion", "keys"),
    [
        (Suspicion.DIGITS, ["digits"]),
        (Suspicion.URL, ["url", "url2"]),
        (Suspicion.DISPOSABLE, ["disposable"]),
        (Suspicion.SHARED_ADDRESS, ["crowd"]),
        (Suspicion.ANY, ["digits", "url", "url2", "disposable", "crowd"]),
    ],
)
def test_each_suspicion_finds_exactly_its_signatures(
    signers, suspicion, keys, staff_client, django_assert_num_queries
):
    expected = []
    for key in keys:
        found = signers[key]
        expected += [
            s.full_name for s in (found if isinstance(found, list) else [found])
        ]
    with django_assert_num_queries(1):
        assert names(
            signatures_looking_fake(Signature.objects.all(), suspicion=suspicion)
        ) == sorted(expected)
    page = staff_client.get(CHANGELIST, {"looks_fake": suspicion}).content.decode()
    for name in expected:
        assert name in page
    assert "Ada Lovelace" not in page


def test_excluding_asks_for_a_reason_then_keeps_the_count(signers, staff_client):
    campaign = signers["plain"].campaign
    count = selectors.signature_count(campaign_id=campaign.pk)
    crowd = [s.pk for s in signers["crowd"]]
    action = {"action": "exclude_from_handin", "_selected_action": crowd}

    form = staff_client.post(CHANGELIST, action)
    assert form.status_code == 200
    assert "Exclude from the hand-in" in form.content.decode()
    assert not Signature.objects.filter(handin_excluded_at__isnull=False).exists()

    refused = staff_client.post(CHANGELIST, {**action, "reason": "fake\r\nBcc: x"})
    assert "single line" in refused.content.decode()
    assert not Signature.objects.filter(handin_excluded_at__isnull=False).exists()

    done = staff_client.post(CHANGELIST, {**action, "reason": "  one address  "})
    assert done.status_code == 302
    excluded = Signature.objects.filter(handin_excluded_at__isnull=False)
    assert sorted(excluded.values_list("pk", flat=True)) == sorted(crowd)
    assert set(excluded.values_list("handin_exclusion_reason", flat=True)) == {
        "one address"
    }
    # Still counted on the site; listed under the hand-in filter.
    selectors.cache.clear()
    assert selectors.signature_count(campaign_id=campaign.pk) == count
    page = staff_client.get(CHANGELIST, {"handin": "excluded"}).content.decode()
    assert "one address" in page and "Ada Lovelace" not in page

    staff_client.post(
        CHANGELIST, {"action": "include_in_handin", "_selected_action": crowd[:2]}
    )
    assert excluded.count() == SHARED_ADDRESS_MIN - 2


def test_select_all_across_pages_posts_the_filter_not_every_id(signers, staff_client):
    url = f"{CHANGELIST}?looks_fake={Suspicion.SHARED_ADDRESS}"
    # What the changelist posts when "Select all" is clicked: the ticked rows'
    # ids, select_across, and the filters in the URL.
    action = {
        "action": "exclude_from_handin",
        "select_across": "1",
        "index": "0",
        "_selected_action": [s.pk for s in signers["crowd"][:2]],
    }
    form = staff_client.post(url, action).content.decode()
    assert f"<strong>{SHARED_ADDRESS_MIN}</strong> selected signatures" in form
    assert 'name="select_across" value="1"' in form
    assert form.count('name="_selected_action"') == 1  # not one per signature

    first = signers["crowd"][0].pk
    done = staff_client.post(
        url,
        {"action": "exclude_from_handin", "select_across": "1",
         "_selected_action": first, "reason": "crowd"},
    )  # fmt: skip
    assert done.status_code == 302
    excluded = Signature.objects.filter(handin_excluded_at__isnull=False)
    assert sorted(excluded.values_list("pk", flat=True)) == sorted(
        s.pk for s in signers["crowd"]
    )


def test_the_shared_address_count_reads_only_the_filtered_campaigns(
    signers, django_assert_num_queries
):
    """A crowd on another campaign is neither found nor counted (the window runs
    over the filtered campaigns' signatures, not the whole table)."""
    here = signers["crowd"][0].campaign
    elsewhere = CampaignFactory()
    crowd_elsewhere = [
        SignatureFactory(campaign=elsewhere, status="confirmed", client_ip_hash="h9")
        for _ in range(SHARED_ADDRESS_MIN)
    ]
    ours = Signature.objects.filter(campaign=here)
    with django_assert_num_queries(1):
        ids = set(_shared_address_ids(ours).values_list("pk", flat=True))
    assert ids == {s.pk for s in signers["crowd"]}
    # Filtered further (one person), the crowd is still counted in full.
    one = Signature.objects.filter(pk=signers["crowd"][0].pk)
    assert set(_shared_address_ids(one).values_list("pk", flat=True)) == ids
    both = Signature.objects.filter(campaign__in=[here, elsewhere])
    assert set(_shared_address_ids(both).values_list("pk", flat=True)) == ids | {
        s.pk for s in crowd_elsewhere
    }
