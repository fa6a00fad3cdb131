"""The export tests' sample signers, and how they fetch and read a CSV through
each entry point: the staff URL, the command and the admin action."""

import csv
import io
from datetime import datetime

from django.core.management import call_command
from django.http import StreamingHttpResponse
from django.urls import reverse

from campaign import exports
from campaign.models import Signature
from tests.factories import SignatureFactory

HOSTILE_NAMES = [
    '=HYPERLINK("http://x")',
    "+1",
    "-2",
    "@SUM(A1)",
    "\tcmd",
    "\rcarriage",
    'She said "hi", then\nleft; again\r\nand, again',
    "Zoë Ångström-Łukasz 中文 🙂",
    "Ada Lovelace",
]
COL = {name: i for i, name in enumerate(exports.HEADER)}
BOM = b"\xef\xbb\xbf"


def parse(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def neutralised(value: str) -> str:
    return "'" + value if value and value[0] in exports.FORMULA_TRIGGERS else value


def signed(campaign, when: datetime, *, confirmed: bool = True, **fields):
    """A signature with a chosen signing time (created_at is auto_now_add)."""
    signature = SignatureFactory(
        campaign=campaign,
        status="confirmed" if confirmed else "pending",
        confirmed_at=when if confirmed else None,
        **fields,
    )
    Signature.objects.filter(pk=signature.pk).update(created_at=when)
    return signature


def url_export(client, slug: str, **params) -> bytes:
    response = client.get(reverse("campaign:signatures_csv", args=[slug]), params)
    assert response.status_code == 200, response.content
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content)


def command_export(tmp_path, slug: str, *args: str) -> bytes:
    target = tmp_path / "out.csv"
    call_command(
        "export_signatures", slug, *args, "--output", str(target), stderr=io.StringIO()
    )
    return target.read_bytes()


def admin_export(staff_client, signatures) -> bytes:
    response = staff_client.post(
        reverse("admin:campaign_signature_changelist"),
        {
            "action": "export_selected_csv",
            "_selected_action": [s.pk for s in signatures],
            "index": "0",
            "select_across": "0",
        },
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content)
