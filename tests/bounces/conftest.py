import io
import sys

import pytest
from django.core.management import call_command


@pytest.fixture
def bounce(monkeypatch):
    """process_bounce in this process: `bounce(raw_bytes)`."""

    def run(raw: bytes) -> None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
        call_command("process_bounce")

    return run
