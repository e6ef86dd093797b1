"""Reading the email the app wrote with the file sender."""

import email
import email.policy
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import jwt

from .helpers import FRONTEND_URL


async def wait_until(condition: Callable[[], bool], seconds: float = 5) -> None:
    """Check ``condition`` until it holds (or fail after ``seconds``). Polling, because what
    it waits for happens in another thread, which cannot set an event of this loop."""
    with anyio.fail_after(seconds):
        while not condition():  # noqa: ASYNC110
            await anyio.sleep(0.01)


def file_names(mailbox: Path) -> list[str]:
    """The names of every file in ``mailbox``, hidden ones included."""
    return sorted(path.name for path in mailbox.iterdir())


def messages(mailbox: Path) -> list[EmailMessage]:
    """Every message in ``mailbox``, oldest first."""
    if not mailbox.exists():
        return []
    return [
        email.message_from_bytes(
            path.read_bytes(), _class=EmailMessage, policy=email.policy.default
        )
        for path in sorted(mailbox.glob("*.eml"))
    ]


async def wait_for_messages(mailbox: Path, count: int = 1) -> list[EmailMessage]:
    """Wait until ``count`` messages arrived; they go out in the background, so the response
    may come first."""
    await wait_until(lambda: len(messages(mailbox)) >= count)
    return messages(mailbox)


def link(message: EmailMessage) -> str:
    """The link in a message's body."""
    body: str = message.get_content()
    return next(word for word in body.split() if word.startswith(("http://", "https://")))


def token(message: EmailMessage) -> str:
    """The token in the link of a message."""
    return parse_qs(urlsplit(link(message)).query)["token"][0]


async def link_claims(
    response: httpx.Response, mailbox: Path, subject: str, page: str
) -> dict[str, Any]:
    """The claims of the token mailed after ``response`` (a 202 without body): checked to be the
    one message, sent to user@example.com with ``subject`` and a link to the front end's ``page``."""
    assert (response.status_code, response.json()) == (202, None)
    [message] = await wait_for_messages(mailbox)
    assert (message["To"], message["Subject"]) == ("user@example.com", subject)
    assert link(message).startswith(f"{FRONTEND_URL}{page}?token=")
    claims: dict[str, Any] = jwt.decode(token(message), options={"verify_signature": False})
    return claims


async def delivered(mailbox: Path, count: int) -> list[EmailMessage]:
    """Every message once ``count`` arrived and a moment passed without more: to check that
    nothing else was sent."""
    await wait_for_messages(mailbox, count)
    await anyio.sleep(0.2)
    return messages(mailbox)


async def mailed_token(client: httpx.AsyncClient, mailbox: Path, path: str, email: str) -> str:
    """Ask ``path`` to mail a token to ``email`` and return the token of the message it sends."""
    count = len(messages(mailbox))
    response = await client.post(path, json={"email": email})
    assert response.status_code == 202, response.text
    return token((await wait_for_messages(mailbox, count + 1))[-1])


async def request_reset(client: httpx.AsyncClient, mailbox: Path, email: str) -> str:
    """The token of the password reset link mailed to ``email``."""
    return await mailed_token(client, mailbox, "/auth/forgot-password", email)


async def request_verify_token(client: httpx.AsyncClient, mailbox: Path, email: str) -> str:
    """The token of the verification link mailed to ``email``."""
    return await mailed_token(client, mailbox, "/auth/request-verify-token", email)
