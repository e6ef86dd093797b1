"""Sessions a user can see and end: GET and DELETE /users/me/sessions, and the same for any user
under /users/{id}/sessions for superusers."""

import uuid

from fastapi import APIRouter, Depends, HTTPException, Response, status

from ...strict_json import StrictJSONRoute
from ..dependencies import CurrentSession, UserFromPath, UserServicesDep, current_superuser
from ..sessions import Session
from .responses import NOT_FOUND, SUPERUSER_ONLY, UNAUTHORIZED, described

router = APIRouter(route_class=StrictJSONRoute)


ENDED = described(status.HTTP_204_NO_CONTENT, "The session is ended; its token is revoked.")


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
    current = authenticated.session_id
    return [session.model_copy(update={"current": session.id == current}) for session in sessions]


@router.delete(
    "/me/sessions",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    name="sessions:end_my_other_sessions",
    summary="End my other sessions",
    responses={
        **described(status.HTTP_204_NO_CONTENT, "Every other session is ended."),
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
    return await services.access_tokens.sessions.active(user.id)


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
