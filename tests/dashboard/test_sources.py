"""Where supporters come from: utm/ref parameters and the referring host, carried
through the sign form, cleaned, stored, exported; share links tagged per channel."""

import lxml.html
import pytest
from django.urls import reverse

from campaign import exports, sources
from campaign.models import Signature
from campaign.services.signing import signature_confirm
from tests.dashboard.conftest import signed, utc
from tests.exports.csv_export import parse
from tests.pages.sign_form import form_data
from tests.support.http import text

pytestmark = pytest.mark.django_db

UTM = "?utm_source=newsletter&utm_medium=email&utm_campaign=spring&ref=partner-7"


@pytest.fixture
def page_url(campaign):
    return reverse("campaign:detail", args=[campaign.slug])


def hidden(response) -> dict[str, str]:
    form = lxml.html.fromstring(text(response)).get_element_by_id("sign-form")
    return {
        name: form.inputs[name].value or ""
        for name in sources.FIELDS
        if name in form.inputs
    }


def test_the_page_carries_the_link_parameters_and_referring_host(client, page_url):
    response = client.get(
        page_url + UTM,
        HTTP_REFERER="https://news.example.org/story?reader=ada@example.com",
    )
    assert hidden(response) == {
        "utm_source": "newsletter",
        "utm_medium": "email",
        "utm_campaign": "spring",
        "ref": "partner-7",
        # The host only: the referrer's path and query stay out of our records.
        "referrer_host": "news.example.org",
    }
    assert "reader=" not in text(response)


def test_our_own_pages_are_not_a_referrer(client, page_url):
    response = client.get(page_url, HTTP_REFERER="http://testserver/")
    assert hidden(response)["referrer_host"] == ""


def test_the_parameters_survive_a_failed_submission_and_land_on_the_signature(
    client, page_url
):
    carried = hidden(client.get(page_url + UTM, HTTP_REFERER="https://a.example/x"))

    failed = client.post(page_url, form_data(full_name="", **carried))
    assert failed.status_code == 200
    assert "Enter your full name." in text(failed)
    assert hidden(failed) == carried

    response = client.post(page_url, form_data(**hidden(failed)))
    assert response.status_code == 302
    signature = Signature.objects.get()
    assert {name: getattr(signature, name) for name in sources.FIELDS} == carried


@pytest.mark.parametrize(
    ("posted", "stored"),
    [
        ({"utm_source": "x" * 500}, {"utm_source": "x" * sources.VALUE_MAX_LENGTH}),
        ({"utm_source": "a\r\nBcc: evil@example.com"}, {"utm_source": ""}),
        ({"ref": "  tidy  "}, {"ref": "tidy"}),
        ({"referrer_host": "News.Example.ORG."}, {"referrer_host": "news.example.org"}),
        ({"referrer_host": "http://evil.example/path"}, {"referrer_host": ""}),
        ({"referrer_host": "<script>"}, {"referrer_host": ""}),
        (
            {"referrer_host": "Bücher.example"},
            {"referrer_host": "xn--bcher-kva.example"},
        ),
    ],
)
def test_tampered_hidden_fields_are_cleaned_not_refused(
    client, page_url, posted, stored
):
    response = client.post(page_url, form_data(**posted))
    assert response.status_code == 302  # the supporter can't fix what they can't see
    signature = Signature.objects.get()
    for name, value in stored.items():
        assert getattr(signature, name) == value


def test_a_broken_referer_header_is_ignored(client, page_url):
    response = client.get(page_url, HTTP_REFERER="http://[broken")
    assert response.status_code == 200
    assert hidden(response)["referrer_host"] == ""


def test_share_links_carry_utm_source_per_channel(client, campaign, settings):
    settings.SITE_URL = "https://quillpost.example.org"
    client.post(
        reverse("campaign:detail", args=[campaign.slug]), form_data()
    )  # a signature to thank
    signature = Signature.objects.get()
    signature_confirm(token=signature.token)
    page = client.get(reverse("campaign:confirm", args=[signature.token]))
    tree = lxml.html.fromstring(text(page))
    links = tree.xpath('//ul[@class="share-links"]//a/@href')
    assert len(links) == 4
    for link, channel in zip(
        links, ["email", "whatsapp", "x", "facebook"], strict=True
    ):
        assert f"utm_source%3D{channel}%26utm_medium%3Dshare" in link, link


# The web export's COPY runs on a connection of its own: it sees committed rows.
@pytest.mark.django_db(transaction=True)
def test_sources_are_in_the_csv_export(campaign):
    signed(
        campaign,
        utc(2026, 7, 1, 9),
        utm_source="=HYPERLINK(1)",
        ref="partner-7",
        referrer_host="news.example.org",
    )
    chunks = exports.signature_csv_chunks(signatures=Signature.objects.all())
    header, row = parse(b"".join(chunks))
    assert header == exports.HEADER
    row = dict(zip(header, row, strict=True))
    assert row["utm_source"] == "'=HYPERLINK(1)"  # never a live formula
    assert row["ref"] == "partner-7"
    assert row["Referring site"] == "news.example.org"
