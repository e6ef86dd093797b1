"""The routes that email a link (a password reset, a verification): they answer every address
alike, so the answer never tells which addresses have an account."""

from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Body, Request, status
from pydantic import EmailStr

from ..dependencies import UserServicesDep
from ..exceptions import UserAlreadyVerified, UserInactive, UserNotExists
from ..manager import UserManager
from ..schemas import UserDB
from ..services import UserServices
from .responses import LINK_REQUESTED

# Picks the manager's method that sends a user the link (``lambda manager:
# manager.forgot_password``): the route is declared once, and each app has its own manager.
PickSender = Callable[[UserManager], Callable[[UserDB, Request], Awaitable[None]]]


def add_link_route(
    router: APIRouter,
    path: str,
    *,
    name: str,
    summary: str,
    limit: str,
    send: PickSender,
    what: str,
) -> None:
    """Add ``POST path`` to ``router``: it takes an email address, counts the request against
    that address's ``limit`` and answers 202; after the response, it looks the user up and
    sends them the link with the method ``send`` picks (``what`` names that work in the log).

    The lookup too runs after the response, so known and unknown addresses are answered
    alike and equally fast. An address with nothing to send to (no account, a deactivated
    one, one verified already) gets nothing."""

    @router.post(
        path,
        status_code=status.HTTP_202_ACCEPTED,
        name=name,
        summary=summary,
        responses=LINK_REQUESTED,
    )
    async def request_link(
        request: Request,
        email: Annotated[EmailStr, Body(embed=True)],
        services: UserServicesDep,
    ) -> None:
        await send_link_soon(request, services, email, limit=limit, send=send, what=what)


async def send_link_soon(
    request: Request,
    services: UserServices,
    email: str,
    *,
    limit: str,
    send: PickSender,
    what: str,
) -> None:
    """Count the request against ``email``'s ``limit``, then, after the response, look the user
    up and send them the link (see `add_link_route`); for the routes and the pages alike."""
    await services.rate_limits.hit(limit, services.rate_limits.email, request, email)
    manager = services.manager

    async def look_up_and_send() -> None:
        with suppress(UserNotExists, UserInactive, UserAlreadyVerified):
            await send(manager)(await manager.get_by_email(email), request)

    manager.outbox.run_soon(look_up_and_send, what)
