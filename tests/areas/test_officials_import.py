"""Officials (and areas) from a spreadsheet in the admin, with
django-import-export: the dry run saves nothing, a re-import updates by external
id, bad rows are reported with their row numbers, and officials missing from a
new list are reported, not deleted."""

import lxml.html
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campaign.models import Area, Official
from tests.support.http import text

HEADER = "external_id,name,position,salutation,email,organisation"
OFFICIALS = [
    "mp-1,Nora North,MP for Northtown,Dear Nora North,nora@example.org,Parliament",
    "mp-2,Sam South,MP for Southtown,Dear Sam South,sam@example.org,Parliament",
    "mp-3,Eve East,MP for Easttown,Dear Eve East,eve@example.org,Parliament",
]


def csv_file(*lines: str, header: str = HEADER) -> SimpleUploadedFile:
    content = "\n".join([header, *lines]) + "\n"
    return SimpleUploadedFile("officials.csv", content.encode(), "text/csv")


def dry_run(client, model: str, upload: SimpleUploadedFile):
    """The admin's import form posted: the dry run's page."""
    url = reverse(f"admin:campaign_{model}_import")
    page = lxml.html.fromstring(client.get(url).content)
    csv_format = page.xpath('//select[@name="format"]/option[text()="csv"]/@value')[0]
    return client.post(url, {"import_file": upload, "format": csv_format})


def row_kinds(preview) -> list[str]:
    """The dry run's verdict on each row: new, update or skip (unchanged)."""
    page = lxml.html.fromstring(preview.content)
    return page.xpath('//table[@class="import-preview"]/tr/@class')


def confirm(client, model: str, preview) -> None:
    page = lxml.html.fromstring(preview.content)
    form = page.xpath('//form[.//input[@name="confirm"]]')[0]
    response = client.post(
        reverse(f"admin:campaign_{model}_process_import"), dict(form.form_values())
    )
    assert response.status_code == 302


def test_the_dry_run_shows_new_rows_and_saves_nothing(staff_client):
    preview = dry_run(staff_client, "official", csv_file(*OFFICIALS))
    assert preview.status_code == 200
    assert row_kinds(preview) == ["new", "new", "new"]
    assert "Nora North" in text(preview)
    assert not Official.objects.exists()
    confirm(staff_client, "official", preview)
    assert Official.objects.count() == 3


def test_a_reimport_with_one_changed_email_updates_one_row(staff_client):
    confirm(
        staff_client,
        "official",
        dry_run(staff_client, "official", csv_file(*OFFICIALS)),
    )
    first = {o.external_id: o.pk for o in Official.objects.all()}
    changed = OFFICIALS[1].replace("sam@example.org", "sam.south@example.org")
    preview = dry_run(
        staff_client, "official", csv_file(OFFICIALS[0], changed, OFFICIALS[2])
    )
    assert row_kinds(preview) == ["skip", "update", "skip"]
    assert Official.objects.get(external_id="mp-2").email == "sam@example.org"
    confirm(staff_client, "official", preview)
    assert {o.external_id: o.pk for o in Official.objects.all()} == first
    assert Official.objects.get(external_id="mp-2").email == "sam.south@example.org"
    assert Official.objects.filter(email="nora@example.org").count() == 1


def test_bad_rows_are_reported_with_their_row_numbers_and_nothing_is_saved(
    staff_client,
):
    bad = csv_file(
        OFFICIALS[0],
        "mp-2,Sam South,MP,Dear Sam,not-an-email,Parliament",
        "mp-3,,MP,Dear Eve,eve@example.org,Parliament",
        OFFICIALS[0]
        .replace("Nora North,", "Nora\u2028North,", 1)
        .replace("mp-1", "mp-4"),
        OFFICIALS[0].replace("nora@", "nora2@"),
    )
    preview = dry_run(staff_client, "official", bad)
    page = text(preview)
    assert preview.status_code == 200
    rows = lxml.html.fromstring(preview.content).xpath('//td[@class="errors"]/..')
    reported = {
        row.xpath("string(./td[1])").strip(): row.text_content() for row in rows
    }
    # The admin's row numbers: 1 is the first row under the header.
    assert set(reported) == {"2", "3", "4", "5"}
    assert "Enter a valid email address" in reported["2"]
    assert "This field cannot be blank" in reported["3"]
    assert "single line" in reported["4"]
    assert "also on row 1" in reported["5"]
    assert 'name="confirm"' not in page  # nothing to confirm
    assert not Official.objects.exists()


def test_officials_missing_from_a_new_list_are_reported_not_deleted(staff_client):
    confirm(
        staff_client,
        "official",
        dry_run(staff_client, "official", csv_file(*OFFICIALS)),
    )
    preview = dry_run(staff_client, "official", csv_file(*OFFICIALS[:2]))
    page = text(preview)
    assert "1 official(s) with an external id are not in this file" in page
    assert "Eve East (mp-3)" in page
    confirm(staff_client, "official", preview)
    assert Official.objects.filter(external_id="mp-3").exists()


@pytest.mark.django_db
def test_areas_import_with_their_official_by_external_id(staff_client):
    confirm(
        staff_client,
        "official",
        dry_run(staff_client, "official", csv_file(*OFFICIALS)),
    )
    areas = csv_file(
        "E01 ,Northtown, mp-1 ",
        "E02,Southtown,",
        header="code,name,official_external_id",
    )
    confirm(staff_client, "area", dry_run(staff_client, "area", areas))
    assert dict(Area.objects.values_list("code", "official__name")) == {
        "E01": "Nora North",
        "E02": None,
    }
    unknown = csv_file("E03,Easttown,mp-9", header="code,name,official_external_id")
    page = text(dry_run(staff_client, "area", unknown))
    assert "No official has the external id" in page
    assert not Area.objects.filter(code="E03").exists()


def test_officials_export_with_their_external_id(staff_client):
    confirm(
        staff_client,
        "official",
        dry_run(staff_client, "official", csv_file(*OFFICIALS)),
    )
    url = reverse("admin:campaign_official_export")
    page = lxml.html.fromstring(staff_client.get(url).content)
    form = page.xpath('//form[@method="post"]')[0]
    values = dict(form.form_values())
    values["format"] = page.xpath(
        '//select[@name="format"]/option[text()="csv"]/@value'
    )[0]
    for box in page.xpath('//input[@type="checkbox"]'):
        values[box.name] = box.get("value", "on")
    exported = staff_client.post(url, values).content.decode()
    assert exported.splitlines()[0].startswith("external_id,name,position")
    assert "mp-2,Sam South" in exported


def test_a_reimport_whose_keys_have_stray_spaces_updates_the_same_officials(
    staff_client,
):
    confirm(
        staff_client,
        "official",
        dry_run(staff_client, "official", csv_file(*OFFICIALS)),
    )
    first = {o.external_id: o.pk for o in Official.objects.all()}
    spaced = [
        OFFICIALS[0].replace("mp-1,", " mp-1 ,", 1),
        OFFICIALS[1].replace("mp-2,", "mp-2\t,", 1).replace("sam@", "sam.south@"),
        OFFICIALS[2],
    ]
    preview = dry_run(staff_client, "official", csv_file(*spaced))
    assert row_kinds(preview) == ["skip", "update", "skip"]
    assert "not in this file" not in text(preview)
    confirm(staff_client, "official", preview)
    assert {o.external_id: o.pk for o in Official.objects.all()} == first
    assert Official.objects.get(pk=first["mp-2"]).email == "sam.south@example.org"
