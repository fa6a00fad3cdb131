"""Letters by postcode through the real worker and SMTP server: each supporter's
letter reaches their own representative only; representatives' digests, pages
and delivery hours come from the campaign's area setting."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.core.management import call_command
from django.urls import reverse

from campaign.models import AreaTargeting, DeliveryMode, Letter, Signature
from campaign.services.delivery.windows import letter_windows
from campaign.services.signing import signature_confirm
from tests.areas.test_by_postcode import sign_data
from tests.support.waiting import wait_until


def _sign_and_confirm(client, campaign, postcode: str, name: str) -> Signature:
    page = reverse("campaign:detail", args=[campaign.slug])
    email = f"{name.split()[0].lower()}@example.com"
    response = client.post(page, sign_data(postcode, full_name=name, email=email))
    assert response.status_code == 302
    signature = Signature.objects.get(email=email)
    signature_confirm(token=signature.token)
    return signature


def test_each_supporter_writes_only_to_their_own_representative(
    worker, smtp, client, by_postcode
):
    _sign_and_confirm(client, by_postcode, "SW1A 1AA", "Ada Lovelace")
    _sign_and_confirm(client, by_postcode, "sw1a2aa", "Grace Hopper")
    messages = smtp.wait_for(4)  # two confirmations, two letters
    letters = {
        m["To"].addresses[0].addr_spec: m.get_content()
        for m in messages
        if "@example.org" in str(m["To"])
    }
    assert set(letters) == {"nora@example.org", "sam@example.org"}
    assert "Dear Nora North" in letters["nora@example.org"]
    assert "Ada Lovelace" in letters["nora@example.org"]
    assert "Grace Hopper" not in letters["nora@example.org"]
    assert "Grace Hopper" in letters["sam@example.org"]
    assert "Ada Lovelace" not in letters["sam@example.org"]


def test_representatives_get_their_own_digest_and_page(
    worker, smtp, client, staff_client, by_postcode
):
    AreaTargeting.objects.filter(campaign=by_postcode).update(
        delivery_mode=DeliveryMode.DIGEST_ONLY
    )
    for n, postcode in enumerate(["SW1A 1AA", "SW1A 1AB", "SW1A 2AA"]):
        _sign_and_confirm(client, by_postcode, postcode, f"Signer{n} Example")
    smtp.wait_for(3)  # the confirmations; the letters wait for the digest
    assert set(Letter.objects.values_list("status", flat=True)) == {"awaiting_digest"}

    call_command("send_digests")
    messages = smtp.wait_for(5)
    digests = {
        m["To"].addresses[0].addr_spec: m.get_content()
        for m in messages
        if "daily digest" in m["Subject"]
    }
    assert set(digests) == {"nora@example.org", "sam@example.org"}
    assert "New supporters since the last summary: 2" in digests["nora@example.org"]
    assert "Signer2 Example" in digests["sam@example.org"]
    # The page link works without a target row, and shows only their supporters.
    path = digests["sam@example.org"].split("/officials/", 1)[1].split()[0]
    page = client.get("/officials/" + path).content.decode()
    assert "Signer2 Example" in page and "Signer0 Example" not in page
    wait_until(
        lambda: set(Letter.objects.values_list("status", flat=True)) == {"digested"},
        message="letters delivered by their digests",
    )
    # The admin's action revokes every representative's link at once.
    staff_client.post(
        reverse("admin:campaign_campaign_changelist"),
        {"action": "revoke_area_page_links", "_selected_action": [by_postcode.pk]},
    )
    assert client.get("/officials/" + path).status_code == 404


def test_representatives_keep_the_campaigns_delivery_hours(client, by_postcode):
    AreaTargeting.objects.filter(campaign=by_postcode).update(
        send_days="12345", send_from=time(9), send_until=time(17)
    )
    signature = _sign_and_confirm(client, by_postcode, "SW1A 1AA", "Ada Lovelace")
    letter = Letter.objects.get(signature=signature)
    # The official's own hours (none) do not apply; the campaign's do.
    zone = ZoneInfo("Europe/London")
    saturday = datetime(2026, 12, 5, 12, tzinfo=zone)
    monday = datetime(2026, 12, 7, 12, tzinfo=zone)
    assert letter_windows([letter.pk], saturday) == {
        letter.pk: datetime(2026, 12, 7, 9, tzinfo=zone)
    }
    assert letter_windows([letter.pk], monday) == {}
