"""The site's own log lines, as its configured handler writes them (with its
filters and formatter: JSON in the test settings), captured for one test."""

import io
import logging

import pytest

from tests.support.processes import json_lines


class SiteLog:
    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    def text(self) -> str:
        return self._stream.getvalue()

    def json(self) -> list[dict]:
        return json_lines(self.text())


def _site_handlers() -> list[logging.StreamHandler]:
    # The root logger's handlers from settings.LOGGING; pytest adds its own.
    return [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler)
        and not type(h).__module__.startswith("_pytest")
    ]


@pytest.fixture
def site_log():
    """What the site's configured handler(s) write, from this point on."""
    handlers = _site_handlers()
    assert handlers, "settings.LOGGING configures a stream handler on the root"
    stream = io.StringIO()
    previous = [h.setStream(stream) for h in handlers]
    yield SiteLog(stream)
    for handler, old in zip(handlers, previous, strict=True):
        handler.setStream(old)
