"""Request ids and the JSON line per request, as the site's configured handler
writes them."""

import json
import re
import uuid


def test_each_request_gets_an_id_in_its_response_and_log_lines(client, db, site_log):
    response = client.get("/no-such-page/")
    request_id = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    lines = [line for line in site_log.json() if line["logger"] == "quillpost.request"]
    assert lines == [
        {
            "time": lines[0]["time"],
            "level": "INFO",
            "logger": "quillpost.request",
            "message": "request",
            "request_id": request_id,
            "method": "GET",
            "route": None,
            "status": 404,
            "duration_ms": lines[0]["duration_ms"],
        }
    ]
    # Django's own 404 warning carries the id too, without the request object.
    warning = next(
        line for line in site_log.json() if line["logger"] == "django.request"
    )
    assert warning["request_id"] == request_id and "request" not in warning


def test_a_proxy_request_id_is_kept_when_it_is_a_uuid(client, db):
    """django-guid's rule: a UUID (nginx's $request_id is 32 hex digits) is kept,
    anything else replaced, a forged one as well as a merely unusual one."""
    proxy_id = uuid.uuid4().hex
    kept = client.get("/healthz", headers={"X-Request-ID": proxy_id})
    assert kept["X-Request-ID"] == proxy_id
    for other in ('x" "level": "ERROR', "edge-7f3a.1"):
        replaced = client.get("/healthz", headers={"X-Request-ID": other})
        assert re.fullmatch(r"[0-9a-f]{32}", replaced["X-Request-ID"])


def test_request_lines_name_the_route_not_the_path(client, db, site_log):
    """Paths can carry confirmation tokens; the route pattern cannot."""
    client.get("/confirm/secret-token-value/")
    [line] = [line for line in site_log.json() if line["logger"] == "quillpost.request"]
    assert line["route"] == "confirm/<str:token>/"
    assert "secret-token-value" not in json.dumps(line)
