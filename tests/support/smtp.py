"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the session, and the `smtp`
fixture that points this process's mail at it."""

import asyncio
import contextlib
import email
import threading
from collections import deque
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from tests.support.processes import free_port
from tests.support.waiting import wait_until


class SmtpSink:
    """An SMTP server that keeps what it accepts and answers DATA as scripted:
    `script("451 4.3.0 Try later", "250 OK")` answers the next two messages so.
    `delay` (seconds) slows every message down before DATA, i.e. before it is
    accepted, so a test can kill a sender mid-batch. `stall` (seconds) keeps the
    message but holds back the server's "250" that tells the sender so: a sender
    killed then has delivered a message it could not record. `stalled` counts the
    senders waiting so. reset() sets both back to 0. `peers` holds each SMTP
    connection's client address: how many connections the messages came over.
    Each message kept carries its envelope: `envelope_from` (MAIL FROM) and
    `envelope_rcpt`. Inside `with refusing():` nothing listens on the port."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.attempts = 0
        self.delay = 0.0
        self.stall = 0.0
        self.stalled = 0
        self.peers: set[tuple[str, int]] = set()
        self._replies: deque[str] = deque()
        self._lock = threading.Lock()
        self.port = free_port()
        self.host = "127.0.0.1"
        self._controller = Controller(self, hostname=self.host, port=self.port)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        self.peers.add(session.peer)
        if self.delay:
            await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        with self._lock:
            self.attempts += 1
            reply = self._replies.popleft() if self._replies else "250 OK"
            if reply.startswith("250"):
                msg = email.message_from_bytes(envelope.content, policy=policy.default)
                msg.envelope_rcpt = list(envelope.rcpt_tos)
                msg.envelope_from = envelope.mail_from
                self.messages.append(msg)
            stall = self.stall
            self.stalled += bool(stall)
        if stall:
            try:  # cancelled by aiosmtpd if the sender goes away meanwhile
                await asyncio.sleep(stall)
            finally:
                with self._lock:
                    self.stalled -= 1
        return reply

    def script(self, *replies: str) -> None:
        with self._lock:
            self._replies.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self.peers.clear()
            self._replies.clear()
            self.attempts = 0
            self.delay = 0.0
            self.stall = 0.0

    def wait_for(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        """Block until at least `count` messages arrived; fail the test otherwise."""
        wait_until(
            lambda: len(self.messages) >= count,
            timeout,
            lambda: f"{count} messages at the SMTP sink (it got {len(self.messages)})",
            interval=0.01,
        )
        with self._lock:
            return list(self.messages)

    def start(self) -> None:
        self._controller.start()

    @contextlib.contextmanager
    def refusing(self):
        """Stop listening for the block (connections are refused), then listen
        again on the same port (a stopped controller cannot restart)."""
        self._controller.stop()
        try:
            yield
        finally:
            self._controller = Controller(self, hostname=self.host, port=self.port)
            self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


@pytest.fixture(scope="session")
def smtp_server():
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp(smtp_server, settings):
    """The session's SMTP server, emptied, and this process's mail pointed at it."""
    smtp_server.reset()
    settings.EMAIL_BACKEND = "campaign.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    yield smtp_server
    smtp_server.reset()
