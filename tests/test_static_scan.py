"""The suite's own plumbing: WhiteNoise's files built once per session
(tests/support/static_files.py), which every request a test makes goes through.
What a handler serves must be what WhiteNoise alone would serve."""

import re

from whitenoise.middleware import WhiteNoiseMiddleware

from tests.support import static_files


def _headers(middleware) -> dict[str, dict]:
    """Every URL's response headers for a plain GET, as the middleware serves it."""
    return {
        url: dict(f.get_response("GET", {}).headers)
        for url, f in middleware.files.items()
        if hasattr(f, "alternatives")  # a StaticFile (not a redirect)
    }


def _built_by_whitenoise_alone(monkeypatch) -> WhiteNoiseMiddleware:
    monkeypatch.setattr(
        WhiteNoiseMiddleware,
        "update_files_dictionary",
        static_files._original_update,
    )
    middleware = WhiteNoiseMiddleware(lambda request: None)
    monkeypatch.undo()
    return middleware


def test_a_second_handler_reuses_the_files_and_serves_the_same(monkeypatch):
    first = WhiteNoiseMiddleware(lambda request: None)
    scans = []
    monkeypatch.setattr(
        static_files,
        "_original_update",
        lambda *args: scans.append(args) or static_files._original_update(*args),
    )
    second = WhiteNoiseMiddleware(lambda request: None)
    assert scans == []
    assert second.files is not first.files  # each handler has its own dictionary
    monkeypatch.undo()

    alone = _headers(_built_by_whitenoise_alone(monkeypatch))
    assert len(alone) > 100  # collectstatic's files, the admin's among them
    assert _headers(second) == alone
    hashed = re.compile(r"/static/admin/css/base\.[0-9a-f]{12}\.css")
    [css] = [url for url in alone if hashed.fullmatch(url)]
    assert "immutable" in alone[css]["Cache-Control"]
    assert "immutable" not in alone["/static/admin/css/base.css"]["Cache-Control"]


def test_other_settings_build_their_own_files(settings):
    WhiteNoiseMiddleware(lambda request: None)
    settings.WHITENOISE_MAX_AGE = 7
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }
    middleware = WhiteNoiseMiddleware(lambda request: None)
    # Plain names now: no file is taken for a hashed one, cached for ever.
    cache_controls = {h["Cache-Control"] for h in _headers(middleware).values()}
    assert cache_controls == {"max-age=7, public"}
