"""A real SMTP server on this machine, for the mail tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller


class Mailbox:
    """An SMTP handler that keeps what it accepts; it can refuse the first N."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.refuse_next = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_next:
            self.refuse_next -= 1
            return "451 4.3.0 Try again later"
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    # The server starts in a thread of its own: on a busy machine that can take
    # longer than aiosmtpd's default of five seconds.
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, ready_timeout=300)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
def mail_to(app: Any, smtp_server: tuple[Mailbox, int]) -> Iterator[Mailbox]:
    """The application sends to the local SMTP server during the test."""
    mailbox, port = smtp_server
    saved = {key: app.config.get(key) for key in ("MAIL_HOST", "MAIL_PORT", "MAIL_SECURITY")}
    app.config.update(MAIL_HOST="127.0.0.1", MAIL_PORT=port, MAIL_SECURITY="none")
    try:
        yield mailbox
    finally:
        app.config.update(saved)
