"""What the routes that email a link (a password reset, a verification) share: they answer
every address alike, so the answer never tells which addresses have an account."""

from collections.abc import Awaitable, Callable
from contextlib import suppress

from fastapi import Request

from ..exceptions import UserAlreadyVerified, UserInactive, UserNotExists
from ..schemas import UserDB
from ..services import UserServices


async def send_link_later(
    request: Request,
    email: str,
    services: UserServices,
    *,
    limit: str,
    send: Callable[[UserDB, Request], Awaitable[None]],
    what: str,
) -> None:
    """Count the request against ``email``'s ``limit``, then look the user up and ``send``
    them the link after the response (``what`` names the work in the log).

    The lookup too runs after the response, so known and unknown addresses are answered
    alike and equally fast. An address with nothing to send to (no account, a deactivated
    one, one verified already) gets nothing."""
    await services.rate_limits.hit(limit, services.rate_limits.email, request, email)

    async def look_up_and_send() -> None:
        with suppress(UserNotExists, UserInactive, UserAlreadyVerified):
            await send(await services.manager.get_by_email(email), request)

    services.manager.outbox.run_soon(look_up_and_send, what)
