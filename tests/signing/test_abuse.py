"""Abuse limits (issue 12): per-IP limits on signing and the preview
(django-ratelimit on the suite's Redis cache), the client-IP rule behind them, the
sign form's bot traps, and the admin log-in lockout (django-axes).

The suite runs with RATELIMIT_ENABLE=0; these tests turn the limits on. The clock
is moved with time-machine (the minimum fill time, a limit's window, a lockout's
end), never waited for.
"""

import random
import re
import runpy
import time
from datetime import timedelta

import environ
import pytest
import time_machine
from axes.models import AccessAttempt
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory
from django.urls import reverse

from campaign import bot_traps
from campaign.models import ConfirmationEmail, Signature
from config.client_ip import client_ip
from tests.factories import CampaignFactory
from tests.support.processes import ROOT
from tests.support.worker import wait_for_idle_broker

pytestmark = pytest.mark.django_db

SIGN_LIMIT = 5  # the default SIGN_RATE_LIMIT, 5/300s: see test_defaults below
TOO_MANY = re.compile(
    r"Too many signatures from your connection\. "
    r"Please try again in (?:a minute|[2-5] minutes)\."
)


@pytest.fixture
def limits_on(settings):
    settings.RATELIMIT_ENABLE = True
    settings.AXES_ENABLED = True
    settings.TRUSTED_PROXY_COUNT = 0  # no proxy in front of the test client
    return settings


@pytest.fixture
def clock():
    """Time stands still until a test moves it."""
    with time_machine.travel(time.time(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def campaign():
    return CampaignFactory()


def page_of(campaign) -> str:
    return reverse("campaign:detail", args=[campaign.slug])


def form_stamp(client, campaign) -> str:
    """The signed render time of a freshly fetched campaign page."""
    page = client.get(page_of(campaign)).content.decode()
    return re.search(rf'name="{bot_traps.STAMP_FIELD}" value="([^"]+)"', page)[1]


def signing(stamp: str, **fields) -> dict:
    """What a browser posts: the typed fields, the page's stamp, an empty honeypot."""
    return {
        "full_name": "Ada Lovelace",
        "email": "ada@example.com",
        "postcode": "NW1 6XE",
        "consent_to_send": "on",
        "sign": "1",
        bot_traps.STAMP_FIELD: stamp,
        bot_traps.HONEYPOT_FIELD: "",
        **fields,
    }


def sign_many(client, campaign, count: int, clock, forwarded_for=None) -> list[int]:
    """The statuses of `count` signings with different addresses (a would-be mail
    bomb) from one page fetched 10 s before, each with the X-Forwarded-For header
    `forwarded_for()` makes, if given."""
    stamp = form_stamp(client, campaign)
    clock.shift(10)
    statuses = []
    for n in range(count):
        headers = {"X-Forwarded-For": forwarded_for()} if forwarded_for else {}
        data = signing(stamp, email=f"stranger{n}.{random.random()}@example.com")
        response = client.post(page_of(campaign), data, headers=headers)
        statuses.append(response.status_code)
    return statuses


def random_ip() -> str:
    return ".".join(str(random.randint(1, 254)) for _ in range(4))


# --- signing: per IP, per campaign and across campaigns -----------------------------


def test_twenty_signings_from_one_ip_send_only_the_allowed_confirmations(
    transactional_db, limits_on, clock, campaign, smtp, celery_worker_proc, broker
):
    client = Client()
    stamp = form_stamp(client, campaign)
    clock.shift(10)  # a person takes a few seconds to fill in the form
    responses = [
        client.post(page_of(campaign), signing(stamp, email=f"victim{n}@example.com"))
        for n in range(20)
    ]
    assert [r.status_code for r in responses] == [302] * SIGN_LIMIT + [429] * 15
    refused = responses[-1]
    page = refused.content.decode()
    assert TOO_MANY.search(page)
    assert 0 < int(refused["Retry-After"]) <= 300
    # The form comes back as typed.
    assert 'value="victim19@example.com"' in page and 'value="Ada Lovelace"' in page
    assert Signature.objects.count() == SIGN_LIMIT

    smtp.wait_for(SIGN_LIMIT)
    wait_for_idle_broker(broker)
    assert sorted(m.envelope_rcpt[0] for m in smtp.messages) == sorted(
        f"victim{n}@example.com" for n in range(SIGN_LIMIT)
    )


def test_the_limit_lifts_when_its_window_ends(limits_on, clock, campaign):
    client = Client()
    assert sign_many(client, campaign, 6, clock) == [302] * 5 + [429]
    clock.shift(300)
    assert sign_many(client, campaign, 1, clock) == [302]


def test_forged_forwarded_for_headers_do_not_multiply_one_machine(
    limits_on, clock, campaign
):
    statuses = sign_many(Client(), campaign, 20, clock, forwarded_for=random_ip)
    assert statuses == [302] * SIGN_LIMIT + [429] * 15


def test_behind_one_proxy_each_forwarded_address_has_its_own_allowance(
    limits_on, clock, campaign
):
    limits_on.TRUSTED_PROXY_COUNT = 1
    for client_address in ("203.0.113.7", "203.0.113.8"):
        # What nginx's $proxy_add_x_forwarded_for passes on: whatever the client
        # claimed, then the address it really came from.
        forwarded = lambda a=client_address: f"{random_ip()}, {a}"  # noqa: E731
        statuses = sign_many(Client(), campaign, 6, clock, forwarded_for=forwarded)
        assert statuses == [302] * SIGN_LIMIT + [429]


def test_signing_across_campaigns_has_its_own_limit(limits_on, clock):
    limits_on.SIGN_RATE_LIMIT_ALL = "7/3600s"
    first, second = CampaignFactory(), CampaignFactory()
    client = Client()
    assert sign_many(client, first, 5, clock) == [302] * 5
    assert sign_many(client, second, 3, clock) == [302, 302, 429]


def test_previews_have_their_own_generous_limit_and_no_minimum_time(
    limits_on, clock, campaign
):
    limits_on.PREVIEW_RATE_LIMIT = "3/60s"
    client = Client()
    url = reverse("campaign:preview", args=[campaign.slug])
    typed = {"full_name": "Grace Hopper"}
    assert [client.post(url, typed).status_code for _ in range(3)] == [200] * 3
    refused = client.post(url, typed)
    assert refused.status_code == 429 and refused["Retry-After"]
    assert "Too many previews from your connection." in refused.content.decode()
    # The "Preview my letter" button without JavaScript counts the same.
    page = client.post(page_of(campaign), {**typed, "preview": "1"})
    assert page.status_code == 429
    assert 'value="Grace Hopper"' in page.content.decode()
    # Signing is counted apart.
    assert sign_many(client, campaign, 1, clock) == [302]


def test_rate_limit_off_switch(settings, campaign):
    assert settings.RATELIMIT_ENABLE is False  # the suite's environment
    stamp = ""  # no minimum time either: tests and benchmarks post at once
    responses = [
        Client().post(page_of(campaign), signing(stamp, email=f"s{n}@example.com"))
        for n in range(8)
    ]
    assert [r.status_code for r in responses] == [302] * 8


# --- the client IP ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (0, "198.51.100.1", "192.0.2.9"),  # no proxy: the header is ignored
        (1, "198.51.100.1, 203.0.113.5", "203.0.113.5"),
        (2, "198.51.100.1, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
        (2, "203.0.113.5", "192.0.2.9"),  # fewer entries than proxies
        (1, "", "192.0.2.9"),
        (1, "198.51.100.1, not-an-address", "192.0.2.9"),
        (1, "2001:DB8::1", "2001:db8::1"),
    ],
)
def test_client_ip_counts_trusted_hops_from_the_right(
    settings, hops, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = hops
    request = RequestFactory().get(
        "/", REMOTE_ADDR="192.0.2.9", HTTP_X_FORWARDED_FOR=forwarded
    )
    assert client_ip(request) == expected


# --- the bot traps --------------------------------------------------------------


def _nothing_stored_or_sent():
    assert not Signature.objects.exists()
    assert not ConfirmationEmail.objects.exists()  # the outbox of confirmations


def test_a_filled_honeypot_is_refused_openly(
    limits_on, clock, campaign, django_capture_on_commit_callbacks
):
    client = Client()
    stamp = form_stamp(client, campaign)
    clock.shift(60)
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(
            page_of(campaign),
            signing(stamp, **{bot_traps.HONEYPOT_FIELD: "Buy cheap watches"}),
        )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Sorry, we could not take that signature." in page
    assert "Buy cheap watches" not in page  # a person caught by mistake can resend
    assert 'value="Ada Lovelace"' in page
    assert queued == []
    _nothing_stored_or_sent()


@pytest.mark.parametrize("stamp", ["fresh", "missing", "forged"])
def test_a_signing_too_soon_after_the_page_or_unstamped_is_refused(
    limits_on, clock, campaign, stamp
):
    client = Client()
    stamps = {
        "fresh": form_stamp(client, campaign),
        "missing": "",
        "forged": form_stamp(client, campaign).replace(":", ":x", 1),
    }
    clock.shift(1)  # under SIGN_MIN_SECONDS (3)
    response = client.post(page_of(campaign), signing(stamps[stamp]))
    assert response.status_code == 400
    assert "Sorry, we could not take that signature." in response.content.decode()
    _nothing_stored_or_sent()
    clock.shift(3)  # now 4 s after the page: fine, for a real stamp only
    retry = client.post(page_of(campaign), signing(stamps[stamp]))
    assert retry.status_code == (302 if stamp == "fresh" else 400)


def test_the_honeypot_is_hidden_from_people_and_form_fillers(campaign):
    page = Client().get(page_of(campaign)).content.decode()
    name = bot_traps.HONEYPOT_FIELD
    # Autofill and password managers match these words in a field's name.
    assert not re.search(r"name|mail|url|web|site|addr|phone|tel|company", name)
    box = re.search(
        r'<div class="([^"]+)" aria-hidden="true">\s*<label[^>]*>[^<]*</label>\s*'
        rf'<input ([^>]*name="{name}"[^>]*)>',
        page,
    )
    assert box and box[1] == "visually-hidden"
    assert 'autocomplete="off"' in box[2] and 'tabindex="-1"' in box[2]
    assert 'value=""' in box[2] and "style=" not in box[2]


def test_the_honeypot_still_works_with_the_limits_off(campaign):
    data = signing("", **{bot_traps.HONEYPOT_FIELD: "x"})
    assert Client().post(page_of(campaign), data).status_code == 400


# --- the admin log-in lockout ------------------------------------------------------


@pytest.fixture
def editor(django_user_model):
    return django_user_model.objects.create_superuser(
        "editor", "editor@example.org", "right-password-123"
    )


def log_in(password: str, username: str = "editor", **wsgi_environ):
    return Client().post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": "/admin/"},
        **wsgi_environ,
    )


def test_twenty_wrong_passwords_lock_the_username_until_the_lock_expires(
    limits_on, clock, editor, staff_client
):
    # From twenty different addresses: the username itself is locked.
    statuses = [
        log_in(f"wrong-{n}", REMOTE_ADDR=f"198.51.100.{n + 1}").status_code
        for n in range(20)
    ]
    assert statuses == [200] * 9 + [429] * 11
    locked = log_in("right-password-123", REMOTE_ADDR="192.0.2.200")
    assert locked.status_code == 429
    assert "_auth_user_id" not in locked.client.session
    page = locked.content.decode()
    assert "Logging in is locked for a while" in page
    assert "locked for 15 minutes" in page

    # The lockout shows in the admin, for another administrator.
    listed = staff_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert "Locked Out" in listed.content.decode()

    clock.shift(timedelta(minutes=14))
    assert log_in("right-password-123").status_code == 429
    clock.shift(timedelta(minutes=1, seconds=1))
    welcome = log_in("right-password-123")
    assert (welcome.status_code, welcome["Location"]) == (302, "/admin/")


def test_wrong_passwords_from_one_address_lock_that_address(limits_on, clock, editor):
    limits_on.TRUSTED_PROXY_COUNT = 1  # axes follows the same client-IP rule
    attacker = {"HTTP_X_FORWARDED_FOR": "203.0.113.66"}
    for n in range(10):
        log_in("guess", username=f"user{n}", **attacker)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {
        "203.0.113.66"
    }
    assert log_in("right-password-123", **attacker).status_code == 429
    elsewhere = log_in("right-password-123", HTTP_X_FORWARDED_FOR="203.0.113.67")
    assert elsewhere.status_code == 302


# --- configuration ------------------------------------------------------------------


@pytest.fixture
def load(monkeypatch):
    """config/settings.py run afresh on exactly the given environment."""

    def _load(**env):
        environment = {"DJANGO_SECRET_KEY": "x" * 50, **env}
        monkeypatch.setattr(environ.Env, "ENVIRON", environment)
        return runpy.run_path(str(ROOT / "config" / "settings.py"))

    return _load


def test_defaults(load):
    s = load()
    assert (s["SIGN_RATE_LIMIT"], s["SIGN_RATE_LIMIT_ALL"]) == ("5/300s", "20/3600s")
    assert (s["PREVIEW_RATE_LIMIT"], s["SIGN_MIN_SECONDS"]) == ("120/60s", 3)
    assert s["RATELIMIT_ENABLE"] is True and s["AXES_ENABLED"] is True
    assert s["AXES_FAILURE_LIMIT"] == 10
    assert s["AXES_COOLOFF_TIME"] == timedelta(minutes=15)
    # Behind the one TLS proxy by default in production; the quick start has none.
    assert s["TRUSTED_PROXY_COUNT"] == 1
    assert load(DJANGO_DEBUG="1")["TRUSTED_PROXY_COUNT"] == 0
    assert load(DJANGO_BEHIND_PROXY="0")["TRUSTED_PROXY_COUNT"] == 0
    assert load(DJANGO_TRUSTED_PROXY_COUNT="2")["TRUSTED_PROXY_COUNT"] == 2
    # Production keeps django-ratelimit's error about a per-process cache.
    assert s["SILENCED_SYSTEM_CHECKS"] == ["django_ratelimit.W001"]
    assert "django_ratelimit.E003" in load(DJANGO_DEBUG="1")["SILENCED_SYSTEM_CHECKS"]


def test_one_switch_turns_the_limits_and_the_lockout_off(load):
    s = load(RATELIMIT_ENABLE="0")
    assert s["RATELIMIT_ENABLE"] is False and s["AXES_ENABLED"] is False


@pytest.mark.parametrize("rate", ["5", "5/0s", "0/300s", "five/300s", "5/300x"])
def test_a_malformed_rate_stops_the_site_from_starting(load, rate):
    with pytest.raises(ImproperlyConfigured, match="SIGN_RATE_LIMIT"):
        load(SIGN_RATE_LIMIT=rate)
