"""Sending email: one small interface, three senders, and an outbox that sends in the background.

Requests never wait for a mail server: they hand each message to the `Outbox`, which sends it
in a task of its own. So a slow or failing server cannot hold requests up, and the response
time of e.g. /auth/forgot-password does not tell whether a message was sent at all.
"""

import datetime as dt
import logging
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Literal, Protocol

import aiosmtplib
import anyio
from anyio.abc import TaskGroup

logger = logging.getLogger(__name__)

# How long a stopping app waits for messages still being sent.
SHUTDOWN_GRACE_SECONDS = 10


class EmailSender(Protocol):
    """Delivers one message; raises if it cannot."""

    async def send(self, message: EmailMessage) -> None: ...


class ConsoleSender:
    """Prints each message to standard output: for development, where following the link in
    the terminal is all you need."""

    async def send(self, message: EmailMessage) -> None:
        # The decoded text, not the wire form: quoted-printable would break the link across
        # lines and turn its "=" into "=3D".
        headers = "".join(f"{name}: {value}\n" for name, value in message.items())
        sys.stdout.write(f"{headers}\n{message.get_content()}\n{'-' * 79}\n")
        sys.stdout.flush()


class FileSender:
    """Writes each message to its own ``.eml`` file in ``directory``, like Django's file-based
    email backend: handy for tests and for local work without a mail server."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage) -> None:
        await anyio.to_thread.run_sync(self._write, message)

    def _write(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S-%f}-{uuid.uuid4().hex[:8]}.eml"
        # Written under a hidden name, then renamed: whoever reads the folder never sees
        # half a message.
        partial = self.directory / f".{name}.part"
        partial.write_bytes(bytes(message))
        partial.replace(self.directory / name)


@dataclass(frozen=True, kw_only=True)
class SmtpSender:
    """Sends through an SMTP server."""

    host: str
    port: int
    username: str | None
    # Left out of the repr, so that logging a sender never shows it.
    password: str | None = field(repr=False)
    security: Literal["starttls", "tls", "none"]
    timeout: float = 30

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            message,
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.security == "tls",
            start_tls=self.security == "starttls",
            timeout=self.timeout,
        )


class Outbox:
    """Sends messages in the background while the app runs (see `running`)."""

    def __init__(self, sender: EmailSender, from_address: str) -> None:
        self.sender = sender
        self.from_address = from_address
        self._tasks: TaskGroup | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Accept messages while inside; on the way out, give the ones being sent a moment."""
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            try:
                yield
            finally:
                self._tasks = None
                tasks.cancel_scope.deadline = anyio.current_time() + SHUTDOWN_GRACE_SECONDS

    def send_soon(self, to: str, subject: str, body: str) -> None:
        """Queue a plain-text message and return at once."""
        if self._tasks is None:
            raise RuntimeError("the outbox only sends while the app is running")
        message = EmailMessage()
        message["From"] = self.from_address
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        self._tasks.start_soon(self._deliver, message)

    def run_soon(self, work: Callable[[], Awaitable[None]], what: str) -> None:
        """Run ``work`` (which may queue messages) in the background and return at once.

        For requests whose response must not wait for it: the lookup behind forgot-password
        would otherwise take longer for a known address than for an unknown one, and the
        response time would tell which accounts exist.
        """
        if self._tasks is None:
            raise RuntimeError("the outbox only runs work while the app is running")
        self._tasks.start_soon(self._run, work, what)

    async def _run(self, work: Callable[[], Awaitable[None]], what: str) -> None:
        try:
            await work()
        except Exception:
            logger.exception("Could not %s", what)

    async def _deliver(self, message: EmailMessage) -> None:
        try:
            await self.sender.send(message)
        except Exception:
            # Nobody waits for this message any more: log the failure, keep the app running.
            logger.exception("Could not send the email %r to %s", message["Subject"], message["To"])
