"""Sessions a user can see and end: GET and DELETE /users/me/sessions, and the same for any user
under /users/{id}/sessions for superusers."""

import datetime as dt
import uuid

from fastapi import APIRouter, Depends, HTTPException, Response, status
from pydantic import BaseModel

from ...strict_json import StrictJSONRoute
from ..dependencies import CurrentSession, UserFromPath, UserServicesDep, current_superuser
from ..sessions import SessionInfo
from .responses import FORBIDDEN, NOT_FOUND, UNAUTHORIZED, OpenAPIResponses

router = APIRouter(route_class=StrictJSONRoute)


class Session(BaseModel):
    """A logged-in client: when it logged in and was last seen, and what it said it was."""

    id: uuid.UUID
    created_at: dt.datetime
    last_used_at: dt.datetime
    expires_at: dt.datetime
    user_agent: str | None
    ip_address: str | None
    # The session of the request that asks (only in the caller's own list).
    current: bool = False

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                    "created_at": "2026-12-01T09:00:00Z",
                    "last_used_at": "2026-12-01T17:42:00Z",
                    "expires_at": "2026-12-01T10:00:00Z",
                    "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
                    "ip_address": "203.0.113.7",
                    "current": True,
                }
            ]
        }
    }


def shown(session: SessionInfo, current: uuid.UUID | None = None) -> Session:
    return Session(
        id=session.id,
        created_at=session.created_at,
        last_used_at=session.last_used_at,
        expires_at=session.expires_at,
        user_agent=session.user_agent,
        ip_address=session.ip_address,
        current=session.id == current,
    )


ENDED: OpenAPIResponses = {
    status.HTTP_204_NO_CONTENT: {"description": "The session is ended; its token is revoked."}
}
SUPERUSER_ONLY: OpenAPIResponses = {**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND}


@router.get(
    "/me/sessions",
    response_model=list[Session],
    name="sessions:my_sessions",
    summary="List my sessions",
    responses=UNAUTHORIZED,
)
async def my_sessions(
    authenticated: CurrentSession,
    services: UserServicesDep,
) -> list[Session]:
    sessions = await services.access_tokens.sessions.active(authenticated.user.id)
    return [shown(session, authenticated.session_id) for session in sessions]


@router.delete(
    "/me/sessions",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    name="sessions:end_my_other_sessions",
    summary="End my other sessions",
    responses={
        status.HTTP_204_NO_CONTENT: {"description": "Every other session is ended."},
        **UNAUTHORIZED,
    },
)
async def end_my_other_sessions(
    authenticated: CurrentSession,
    services: UserServicesDep,
) -> None:
    sessions = services.access_tokens.sessions
    await sessions.delete_all(authenticated.user.id, keep=authenticated.session_id)


@router.delete(
    "/me/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    name="sessions:end_my_session",
    summary="End one of my sessions",
    responses={**ENDED, **UNAUTHORIZED, **NOT_FOUND},
)
async def end_my_session(
    session_id: uuid.UUID,
    authenticated: CurrentSession,
    services: UserServicesDep,
) -> None:
    # Someone else's session is "not found" too: its existence is none of the caller's business.
    if not await services.access_tokens.sessions.delete(session_id, authenticated.user.id):
        raise HTTPException(status.HTTP_404_NOT_FOUND)


@router.get(
    "/{id}/sessions",
    response_model=list[Session],
    dependencies=[Depends(current_superuser)],
    name="sessions:user_sessions",
    summary="List a user's sessions",
    responses=SUPERUSER_ONLY,
)
async def user_sessions(
    user: UserFromPath,
    services: UserServicesDep,
) -> list[Session]:
    return [shown(session) for session in await services.access_tokens.sessions.active(user.id)]


@router.delete(
    "/{id}/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    dependencies=[Depends(current_superuser)],
    name="sessions:end_user_session",
    summary="End a user's session",
    responses={**ENDED, **SUPERUSER_ONLY},
)
async def end_user_session(
    session_id: uuid.UUID,
    user: UserFromPath,
    services: UserServicesDep,
) -> None:
    if not await services.access_tokens.sessions.delete(session_id, user.id):
        raise HTTPException(status.HTTP_404_NOT_FOUND)
