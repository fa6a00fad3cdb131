"""The cached campaign page (campaign/page_cache.py), against the suite's real
Redis cache: admin edits show on the next view, time-based changes show when
their time comes (the clock is moved), every visitor gets their own CSRF token,
and the query budget of a warm view, a cold view and a sign POST is pinned."""

import html
import re
from datetime import timedelta

import lxml.html
import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaign import page_cache, privacy, selectors
from campaign.models import Campaign, Signature
from campaign.selectors import ConfirmationState
from campaign.services.signing import ConfirmationRefused, signature_confirm
from tests.factories import SignatureFactory
from tests.pages.sign_form import form_data
from tests.support.http import csrf_token_in, text

pytestmark = pytest.mark.django_db


def seen(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return html.unescape(text(response))


def admin_save(staff_client, url: str, **changes) -> None:
    """Submit an admin change form as it stands, with `changes`, running the
    on-commit callbacks the admin's transaction would run in production."""
    page = staff_client.get(url)
    form = lxml.html.fromstring(text(page)).get_element_by_id(
        page.context["opts"].model_name + "_form"
    )
    data = dict(form.form_values())
    data.update(changes, _save="Save")
    response = staff_client.post(url, data)
    assert response.status_code == 302, text(response)


@pytest.fixture
def visitor(client, page_url):
    """An anonymous visitor who has seen the page once: it is now cached."""
    seen(client, page_url)
    return client


def test_a_template_edit_in_the_admin_shows_on_the_next_view(
    visitor, page_url, campaign, staff_client, django_capture_on_commit_callbacks
):
    url = reverse(
        "admin:letters_lettertemplate_change", args=[campaign.letter_template.pk]
    )
    body = campaign.letter_template.body_template + "\n\nP.S. Libraries matter."
    with django_capture_on_commit_callbacks(execute=True):
        admin_save(staff_client, url, body_template=body)
    assert "P.S. Libraries matter." in seen(visitor, page_url)


def test_a_campaign_edit_in_the_admin_shows_on_the_next_view(
    visitor, page_url, campaign, staff_client, django_capture_on_commit_callbacks
):
    url = reverse("admin:campaign_campaign_change", args=[campaign.pk])
    with django_capture_on_commit_callbacks(execute=True):
        admin_save(staff_client, url, title="Save the Central Library")
    assert "Save the Central Library" in seen(visitor, page_url)


def test_an_official_edit_in_the_admin_shows_on_the_next_view(
    visitor, page_url, campaign, staff_client, django_capture_on_commit_callbacks
):
    official = campaign.targets.get(name="Alex Morgan")
    url = reverse("admin:campaign_official_change", args=[official.pk])
    with django_capture_on_commit_callbacks(execute=True):
        admin_save(staff_client, url, name="Alex Morgan-Reid")
    assert "Alex Morgan-Reid" in seen(visitor, page_url)


def test_an_edit_outside_the_admin_shows_after_the_cache_time(
    visitor, page_url, campaign, settings
):
    """Nothing bumps the version (a shell edit): the page's TTL still ends it."""
    campaign.title = "Edited in the shell"
    campaign.save()
    assert "Edited in the shell" not in seen(visitor, page_url)
    later = timezone.now() + timedelta(seconds=settings.CAMPAIGN_PAGE_CACHE_SECONDS)
    with time_machine.travel(later, tick=False):
        assert "Edited in the shell" in seen(visitor, page_url)


def test_the_closing_time_passing_shows_at_once(client, page_url, campaign):
    closes = timezone.now() + timedelta(seconds=30)
    campaign.closes_at = closes
    campaign.save()
    assert 'id="sign-form"' in seen(client, page_url)  # cached, open
    with time_machine.travel(closes + timedelta(seconds=1), tick=False):
        page = seen(client, page_url)
    assert "This campaign has closed" in page
    assert 'id="sign-form"' not in page


def test_the_count_is_filled_in_per_response_and_at_most_the_setting_stale(
    visitor, page_url, campaign
):
    SignatureFactory.create_batch(2, campaign=campaign, status="confirmed")
    assert 'data-count="0"' in seen(visitor, page_url)  # count cached for 10 s
    cache.delete(selectors._count_key(campaign.pk))  # the fresh count expires
    assert 'data-count="2"' in seen(visitor, page_url)
    selectors.signature_count_increment(campaign_id=campaign.pk)  # a confirmation
    assert 'data-count="3"' in seen(visitor, page_url)


def test_only_one_view_recounts_the_rest_show_the_last_count(
    visitor, page_url, campaign, django_assert_num_queries
):
    SignatureFactory.create_batch(3, campaign=campaign, status="confirmed")
    cache.delete(selectors._count_key(campaign.pk))  # expired; the last count is 0
    # Another process is recounting: this view shows the last count, no query.
    assert cache.add(selectors._recount_lock_key(campaign.pk), 1, 30)
    with django_assert_num_queries(0):
        assert 'data-count="0"' in seen(visitor, page_url)
    cache.delete(selectors._recount_lock_key(campaign.pk))
    with django_assert_num_queries(1):  # this one takes the lock and recounts
        assert 'data-count="3"' in seen(visitor, page_url)
    assert cache.get(selectors._recount_lock_key(campaign.pk)) is None


def stamp_in(page: str) -> str:
    return re.search(r'name="form_stamp" value="([^"]+)"', page)[1]


def test_each_visitor_gets_their_own_csrf_token_and_only_theirs_works(
    page_url, campaign
):
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first_page, second_page = first.get(page_url), second.get(page_url)
    first_token, second_token = csrf_token_in(first_page), csrf_token_in(second_page)
    assert first.cookies["csrftoken"].value != second.cookies["csrftoken"].value
    assert first_token != second_token
    assert stamp_in(text(first_page)) and stamp_in(text(second_page))
    assert "qp-slot-" not in text(second_page)
    # Served from the cache, yet marked as varying by cookie for shared caches.
    assert "Cookie" in second_page["Vary"]

    # The first visitor's token with the second's cookie: refused.
    refused = second.post(page_url, form_data(csrfmiddlewaretoken=first_token))
    assert refused.status_code == 403
    assert not Signature.objects.exists()
    # The second visitor's own cookie and token: signed.
    signed = second.post(page_url, form_data(csrfmiddlewaretoken=second_token))
    assert signed.status_code == 302
    assert Signature.objects.get().email == "ada@example.com"


def test_a_logged_in_organiser_is_not_served_the_cached_page(
    visitor, page_url, campaign, staff_client, django_assert_num_queries
):
    campaign.title = "Edited in the shell"
    campaign.save()
    assert "Edited in the shell" not in seen(visitor, page_url)
    assert "Edited in the shell" in seen(staff_client, page_url)


def test_query_budget_cold_view_warm_view_and_sign_post(
    client, page_url, campaign, django_assert_num_queries
):
    # The site's first consent wording exists from its first visit, and is
    # cached (campaign/privacy.py): not part of any page's budget.
    privacy.consent_text_current()
    # Campaign + template, targets, supporters reporting replies, count.
    with django_assert_num_queries(4):
        seen(client, page_url)
    with django_assert_num_queries(0):  # page and count from the cache
        seen(client, page_url)
    # The campaign and its targets come with the cached page; then one
    # statement: the signature's INSERT … ON CONFLICT DO NOTHING and its email's
    # INSERT (rendered when sent), in a WITH, committed by itself in production
    # (campaign/services/signature_insert.py; tests/signing/test_sign_path.py).
    with django_assert_num_queries(1):
        response = client.post(page_url, form_data())
    assert response.status_code == 302
    assert Signature.objects.get().confirmation_emails.count() == 1


def test_a_sign_post_without_a_cached_page_reads_the_campaign(
    client, page_url, campaign, django_assert_num_queries
):
    privacy.consent_text_current()  # as above: cached, and not the POST's
    # The campaign with its template; EXISTS active targets; the one statement.
    with django_assert_num_queries(3):
        response = client.post(page_url, form_data())
    assert response.status_code == 302


def test_a_sign_post_after_an_admin_closes_the_campaign_is_refused(
    visitor, page_url, campaign, staff_client, django_capture_on_commit_callbacks
):
    url = reverse("admin:campaign_campaign_change", args=[campaign.pk])
    with django_capture_on_commit_callbacks(execute=True):
        admin_save(staff_client, url, status="closed")
    response = visitor.post(page_url, form_data())
    assert response.status_code == 403
    assert "This campaign has closed" in text(response)
    assert not Signature.objects.exists()


def test_sign_posts_see_another_process_s_edit_within_the_recheck_interval(
    visitor, page_url, campaign
):
    """This process's own edits show at once (above); another's, which only
    changes the version in the cache, within SIGNING_RECHECK_SECONDS. What is
    signed in between cannot be confirmed on a closed campaign."""
    with time_machine.travel(timezone.now(), tick=False) as clock:
        seen(visitor, page_url)  # this process's copy matches the version now
        # Another process's admin closes the campaign.
        Campaign.objects.filter(pk=campaign.pk).update(status="closed")
        cache.set(page_cache._version_key(campaign.pk), "edited elsewhere", None)
        taken = visitor.post(page_url, form_data(email="in-between@example.com"))
        assert taken.status_code == 302
        clock.shift(page_cache.SIGNING_RECHECK_SECONDS)
        refused = visitor.post(page_url, form_data(email="after@example.com"))
    assert refused.status_code == 403
    assert "This campaign has closed" in text(refused)
    signature = Signature.objects.get()
    assert signature.email == "in-between@example.com"
    with pytest.raises(ConfirmationRefused) as refusal:
        signature_confirm(token=signature.token)
    assert refusal.value.state is ConfirmationState.CLOSED


def test_sign_posts_check_the_version_again_when_the_clock_is_set_back(
    visitor, page_url, campaign
):
    """A clock set back (an NTP step) must not stretch the recheck interval."""
    with time_machine.travel(timezone.now(), tick=False) as clock:
        seen(visitor, page_url)
        Campaign.objects.filter(pk=campaign.pk).update(status="closed")
        cache.set(page_cache._version_key(campaign.pk), "edited elsewhere", None)
        clock.shift(-60)
        refused = visitor.post(page_url, form_data(email="after@example.com"))
    assert refused.status_code == 403
    assert not Signature.objects.exists()


def test_a_sign_post_after_the_closing_time_is_refused(client, page_url, campaign):
    closes = timezone.now() + timedelta(seconds=30)
    campaign.closes_at = closes
    campaign.save()
    seen(client, page_url)  # cached while open
    with time_machine.travel(closes + timedelta(seconds=1), tick=False):
        response = client.post(page_url, form_data())
    assert response.status_code == 403
    assert not Signature.objects.exists()


def source_fields(response) -> dict[str, str]:
    form = lxml.html.fromstring(text(response)).get_element_by_id("sign-form")
    names = ("utm_source", "utm_medium", "utm_campaign", "ref", "referrer_host")
    return {name: form.inputs[name].value for name in names}


def test_each_visitor_gets_their_own_source_fields_from_the_cached_page(
    client, page_url, campaign
):
    first = client.get(page_url + "?utm_source=newsletter&ref=partner-7")
    assert source_fields(first)["utm_source"] == "newsletter"
    # The page is cached now; the next visitor came from elsewhere.
    second = Client().get(
        page_url + '?utm_source="><script>alert(1)</script>',
        HTTP_REFERER="https://news.example/story",
    )
    fields = source_fields(second)
    assert fields["utm_source"] == '"><script>alert(1)</script>'  # as a value
    assert "<script>alert(1)" not in text(second)  # escaped in the markup
    assert fields["ref"] == ""
    assert fields["referrer_host"] == "news.example"
    third = Client().get(page_url)
    assert set(source_fields(third).values()) == {""}
