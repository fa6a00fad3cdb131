"""A private redis-server for a test that stops and restarts Redis under a running
site (the session's Redis is shared with every other test and helper: never stop
that one). Nothing persisted: a restart starts empty, as a lost cache would."""

from pathlib import Path

import pytest
import redis

from tests.support.processes import LiveProcess, free_port


class PrivateRedis(LiveProcess):
    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        argv = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(log_dir),
        ]  # fmt: skip
        super().__init__(
            "redis",
            argv,
            env={"PATH": "/usr/bin:/bin"},
            log_path=log_dir / "redis.log",
            ready="Ready to accept connections",
        )

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(port=self.port, db=db, socket_connect_timeout=1)


@pytest.fixture
def private_redis(tmp_path):
    """A running redis-server of this test's own: `.stop()` / `.start()` it."""
    server = PrivateRedis(tmp_path).start()
    yield server
    server.kill()
