"""Email delivery: the console, file and SMTP senders, and sending in the background."""

import asyncio
import email
import email.policy
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import anyio
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from .conftest import StartApp
from .helpers import FRONTEND_URL, register
from .mail import file_names, link, messages, wait_for_messages, wait_until
from .network import free_port

pytestmark = pytest.mark.anyio


@dataclass
class Inbox:
    """What a real SMTP server (aiosmtpd, in a thread of its own) received."""

    port: int
    received: list[EmailMessage] = field(default_factory=list)
    # Cleared, it holds every message back at the end of the SMTP conversation.
    open: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.to_thread(self.open.wait, 10)
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(
            envelope.content, _class=EmailMessage, policy=email.policy.default
        )
        self.received.append(message)
        return "250 Message accepted for delivery"

    async def wait(self, count: int = 1) -> list[EmailMessage]:
        await wait_until(lambda: len(self.received) >= count)
        return self.received


@pytest.fixture
def smtp_server() -> Iterator[Inbox]:
    inbox = Inbox(port=free_port())
    inbox.open.set()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        inbox.open.set()
        controller.stop()


def smtp_settings(port: int) -> dict[str, Any]:
    return {
        "email_backend": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "email_from": "accounts@example.com",
    }


async def test_file_sender_writes_each_message_with_the_link(
    start_app: StartApp, mailbox: Path
) -> None:
    async with start_app(frontend_url="https://app.example.com/") as client:
        await register(client, "alice@example.com")
        await client.post("/auth/request-verify-token", json={"email": "alice@example.com"})
        await client.post("/auth/forgot-password", json={"email": "alice@example.com"})
        found = await wait_for_messages(mailbox, 2)

    names = file_names(mailbox)
    assert len(names) == 2
    assert all(name.endswith(".eml") for name in names)  # no partial files left behind
    links = sorted(link(message) for message in found)
    assert links[0].startswith("https://app.example.com/reset-password?token=")
    assert links[1].startswith("https://app.example.com/verify?token=")
    assert all(message["From"] == "no-reply@localhost" for message in found)


async def test_console_sender_prints_the_link(
    start_app: StartApp, mailbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with start_app(email_backend="console") as client:
        await register(client, "alice@example.com")
        await client.post("/auth/forgot-password", json={"email": "alice@example.com"})
        printed = ""

        def printed_link() -> bool:
            nonlocal printed
            printed += capsys.readouterr().out
            return "reset-password?token=" in printed

        await wait_until(printed_link)
        # The printed link works as printed: copied from the terminal, it resets the password.
        found = re.search(re.escape(FRONTEND_URL) + r"/reset-password\?token=(\S+)\n", printed)
        assert found is not None, printed
        reset = await client.post(
            "/auth/reset-password", json={"token": found[1], "password": "a-new-passphrase-1"}
        )

    assert "To: alice@example.com" in printed
    assert "=3D" not in printed
    assert reset.status_code == 200, reset.text
    assert messages(mailbox) == []


async def test_smtp_sender_delivers_the_link(start_app: StartApp, smtp_server: Inbox) -> None:
    async with start_app(**smtp_settings(smtp_server.port)) as client:
        await register(client, "alice@example.com")
        await client.post("/auth/request-verify-token", json={"email": "alice@example.com"})
        [message] = await smtp_server.wait()

    assert message["From"] == "accounts@example.com"
    assert message["To"] == "alice@example.com"
    assert link(message).startswith(f"{FRONTEND_URL}/verify?token=")


async def test_email_is_sent_in_the_background(start_app: StartApp, smtp_server: Inbox) -> None:
    smtp_server.open.clear()  # the server takes the message but does not finish accepting it
    async with start_app(**smtp_settings(smtp_server.port)) as client:
        await register(client, "alice@example.com")
        with anyio.fail_after(5):  # had the request waited for the server, this would time out
            response = await client.post(
                "/auth/forgot-password", json={"email": "alice@example.com"}
            )
        assert response.status_code == 202
        assert smtp_server.received == []

        smtp_server.open.set()
        [message] = await smtp_server.wait()

    assert message["Subject"] == "Reset your password"


async def test_failed_delivery_is_logged_not_raised(
    start_app: StartApp, caplog: pytest.LogCaptureFixture
) -> None:
    async with start_app(**smtp_settings(free_port())) as client:  # nothing listens there
        await register(client, "alice@example.com")
        response = await client.post("/auth/forgot-password", json={"email": "alice@example.com"})
        await wait_until(lambda: any(r.levelno == logging.ERROR for r in caplog.records))
        assert (await client.get("/openapi.json")).status_code == 200

    assert response.status_code == 202
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "Could not send the email 'Reset your password' to alice@example.com" in record.message
