"""Real processes for the suite and the benchmarks: a Celery worker or beat,
gunicorn, runserver, a one-off manage.py command. Each runs in its own process
group (so a kill reaches a prefork worker's children too) and writes its output
to a log file the test reads.

No Django here: bench/delivery.py imports this before configuring Django.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nothing listens on (also a safe "closed port" to point at)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def json_lines(text: str) -> list[dict]:
    """The JSON objects among a log's lines (a banner or traceback is skipped)."""
    return [json.loads(line) for line in text.splitlines() if line[:1] == "{"]


class ProcessExited(AssertionError):
    """The process ended while something was still expected of it."""


class LiveProcess:
    """One process, startable again after a stop or kill (the log starts afresh).

    `ready` is a piece of text the process prints once it is serving: start()
    waits for it unless told not to."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict[str, str],
        log_path: Path,
        ready: str | None = None,
    ) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.log_path, self.ready = log_path, ready
        self.proc: subprocess.Popen | None = None

    def start(self, *, wait: bool = True, timeout: float = 30.0) -> "LiveProcess":
        with self.log_path.open("w") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                self.argv, cwd=ROOT, env=self.env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        if wait and self.ready:
            self.wait_for_log(self.ready, timeout)
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def json_lines(self) -> list[dict]:
        return json_lines(self.log())

    def wait_for_log(
        self, pattern: str | re.Pattern, timeout: float = 30.0
    ) -> re.Match | bool:
        """Until the log holds `pattern` (text, or a compiled regex whose match is
        returned). Fails at once if the process has exited without printing it."""

        def seen():
            alive = self.running()  # before reading: an exit then leaves a final log
            log = self.log()
            if isinstance(pattern, re.Pattern):
                found = pattern.search(log)
            else:
                found = pattern in log
            if not found and not alive:
                raise ProcessExited(f"{self.name} exited without {pattern!r}:\n{log}")
            return found

        return wait_until(
            seen, timeout, lambda: f"{self.name} to print {pattern!r}:\n{self.log()}"
        )

    def wait(self, timeout: float = 60.0) -> int:
        """The exit code, once the process has ended by itself."""
        return self.proc.wait(timeout)

    def finish(self, timeout: float = 60.0) -> None:
        """Wait for a one-off command; it must succeed."""
        code = self.wait(timeout)
        if code != 0:
            raise ProcessExited(f"{self.name} exited {code}:\n{self.log()}")

    def send_signal(self, sig: signal.Signals) -> None:
        if self.running():
            os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL the whole group: no chance to finish, acknowledge or record."""
        self.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(10)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (a warm shutdown for Celery), then SIGKILL if it lingers."""
        self.send_signal(signal.SIGTERM)
        self.reap(timeout)

    def reap(self, timeout: float = 15.0) -> None:
        """Wait for the process to end, SIGKILLing it after `timeout`."""
        try:
            if self.proc is not None:
                self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


class ProcessStack:
    """Several named processes logging into one folder, stopped together."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: dict[str, LiveProcess] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> LiveProcess:
        process = LiveProcess(
            name, argv, env=env, log_path=self.log_dir / f"{name}.log"
        )
        self.processes[name] = process
        return process.start()

    def __getitem__(self, name: str) -> LiveProcess:
        return self.processes[name]

    def stop_all(self) -> None:
        stop_together(self.processes.values())


def stop_together(processes: Iterable[LiveProcess]) -> None:
    """stop() them all at once: each warm shutdown takes a moment."""
    processes = list(processes)
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.reap()


def celery_worker(
    env: dict[str, str], log_path: Path, *, concurrency: int, extra: tuple = ()
) -> LiveProcess:
    """A `celery -A config worker` (prefork, no gossip/mingle/heartbeat: a lone
    worker needs none of them, and they slow its start)."""
    argv = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=info",
        f"--concurrency={concurrency}", "--pool=prefork",
        "--without-gossip", "--without-mingle", "--without-heartbeat", *extra,
    ]  # fmt: skip
    return LiveProcess("worker", argv, env=env, log_path=log_path, ready="ready.")


def celery_beat(env: dict[str, str], log_path: Path) -> LiveProcess:
    """A `celery -A config beat`, its schedule file beside its log."""
    argv = [
        sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=info",
        f"--schedule={log_path.with_suffix('.schedule')}",
    ]  # fmt: skip
    return LiveProcess("beat", argv, env=env, log_path=log_path, ready="beat: Starting")
