"""The account pages under /account: sign up, log in and out, verify the email address, reset
the password, and the account's settings and sessions.

Each page calls the JSON API's own route functions, so every rule is the API's (rate limits,
the password policy, single-use tokens, revocation), and shows a refusal's error code as a
sentence (see messages.py). The pages log in with the cookie transport. A form answers 303 to
the next page when it succeeds, and shows itself again with the errors and a 4xx when not.
"""

import uuid
from collections.abc import Callable, Coroutine
from contextlib import suppress
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import EmailStr, TypeAdapter, ValidationError

from ..auth import Authenticated, CookieTransport, IssuedTokens, single_cookie
from ..dependencies import UserServicesDep, current_session
from ..routers.auth import log_in
from ..routers.links import PickSender, send_link_soon
from ..routers.refresh import renew
from ..routers.register import register
from ..routers.reset import reset_password
from ..routers.sessions import end_my_other_sessions, end_session, my_sessions
from ..routers.users import update_me
from ..routers.verify import verify
from ..schemas import UserCreate, UserSelfUpdate
from ..services import UserServices
from .forms import FORM_FIELDS, field_errors, field_values, initial_values
from .guard import PAGE_HEADERS, is_same_origin, local_path, redact_tokens_in_access_log
from .messages import NOTICES, refusal_message

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
EMAIL = TypeAdapter(EmailStr)
FORBIDDEN_MESSAGE = "This form was sent from another site, so it was refused."


def page(
    request: Request, template: str, status_code: int = status.HTTP_200_OK, **context: Any
) -> HTMLResponse:
    """The page ``template`` with ``context``, the notice its ``?done=`` names, and the pages'
    security headers."""
    notice = NOTICES.get(request.query_params.get("done", ""))
    return templates.TemplateResponse(
        request,
        template,
        {
            "notice": notice,
            "errors": {},
            "values": {},
            "form_fields": FORM_FIELDS,
            "user": getattr(request.state, "user", None),
            **context,
        },
        status_code=status_code,
        headers=PAGE_HEADERS,
    )


def see_other(request: Request, name: str, done: str | None = None, **params: str) -> Response:
    """303 to the page ``name``, which shows the notice ``done``."""
    query = {**params, **({"done": done} if done else {})}
    path = request.url_for(name).path + (f"?{urlencode(query)}" if query else "")
    return RedirectResponse(path, status.HTTP_303_SEE_OTHER, headers=PAGE_HEADERS)


def refused(request: Request, template: str, refusal: HTTPException, **context: Any) -> Response:
    """The form again, with the API's refusal next to the field it concerns."""
    field, message = refusal_message(refusal)
    code = refusal.status_code if refusal.status_code < 500 else status.HTTP_400_BAD_REQUEST
    response = page(request, template, code, errors={field: message}, **context)
    if refusal.status_code == status.HTTP_429_TOO_MANY_REQUESTS and refusal.headers:
        response.headers["Retry-After"] = refusal.headers.get("Retry-After", "60")
    return response


def unavailable_page(request: Request, retry_after: int) -> Response:
    """The page for a 503 (the database or Redis unreachable, or too many passwords waiting to
    be hashed): a browser shows it instead of the API's JSON."""
    response = page(
        request, "unavailable.html", status.HTTP_503_SERVICE_UNAVAILABLE, retry_after=retry_after
    )
    response.headers["Retry-After"] = str(retry_after)
    return response


def text(form: Any, name: str) -> str:
    """A text input's value ('' if missing)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def send_link_from_form(
    request: Request,
    services: UserServices,
    template: str,
    *,
    limit: str,
    send: PickSender,
    what: str,
) -> Response | None:
    """Send a link to the address in the email form of ``template``, as the API's routes that
    email a link do (see routers.links); the form again with what is wrong, or None once the
    link is on its way (or there is nothing to send: the answer is the same)."""
    values = {"email": text(await request.form(), "email")}
    try:
        email = EMAIL.validate_python(values["email"])
    except ValidationError:
        errors = {"email": "Enter an email address."}
        return page(request, template, status.HTTP_400_BAD_REQUEST, errors=errors, values=values)
    try:
        await send_link_soon(request, services, email, limit=limit, send=send, what=what)
    except HTTPException as refusal:
        return refused(request, template, refusal, values=values)
    return None


async def page_session(request: Request, services: UserServicesDep) -> Authenticated | None:
    """The session of the login cookie, resolved as the API does; None without one, or (noted
    in ``request.state.unverified``) when the API refuses it until the user verifies their
    email (REQUIRE_VERIFICATION)."""
    token = request.cookies.get(services.cookie_name)
    try:
        session = await current_session(request, None, token, services)
    except HTTPException as refusal:
        request.state.unverified = refusal.status_code == status.HTTP_403_FORBIDDEN
        return None
    request.state.user = session.user  # the header of every page shows who is logged in
    return session


PageSession = Annotated[Authenticated | None, Depends(page_session)]
# For the pages anyone may open: their header shows whether, and as whom, one is logged in.
SHOWS_THE_USER = [Depends(page_session)]


class PageRoute(APIRoute):
    """A route of the pages: a form that another origin's page posted is refused (403) before
    the route sees it, so no form can forget the check (see guard.is_same_origin)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_same_origin_only(request: Request) -> Response:
            if request.method == "POST" and not is_same_origin(request):
                errors = {"form": FORBIDDEN_MESSAGE}
                return page(request, "refused.html", status.HTTP_403_FORBIDDEN, errors=errors)
            return await handle(request)

        return handle_same_origin_only


def build_pages_router(cookie: CookieTransport, *, refresh_tokens: bool) -> APIRouter:
    """The pages, logging in with ``cookie``. With ``refresh_tokens``, a login also sets a
    refresh cookie for /account/session/ (resume and logout), where a page sends the browser
    once the access cookie has expired, so that a login lasts as long as its session."""
    router = APIRouter(include_in_schema=False, route_class=PageRoute)
    redact_tokens_in_access_log()

    def resume_path(request: Request) -> str | None:
        """Where the refresh cookie goes: the folder of /resume and /logout."""
        if not refresh_tokens:
            return None
        return request.url_for("pages:resume").path.rsplit("/", 1)[0]

    def logged_in(request: Request, tokens: IssuedTokens, target: str) -> Response:
        response = RedirectResponse(target, status.HTTP_303_SEE_OTHER, headers=PAGE_HEADERS)
        cookie.set_cookies(response, tokens, resume_path(request))
        return response

    def log_in_first(request: Request) -> Response:
        """To the login page, or first to /resume, and back to this page afterwards (to the
        settings page after a form); to the page that sends a verification link if the user
        must verify their email first."""
        if getattr(request.state, "unverified", False):
            return see_other(request, "pages:resend_verification", "verify-first")
        name = "pages:resume" if refresh_tokens else "pages:login"
        back = (
            request.url.path if request.method == "GET" else request.url_for("pages:account").path
        )
        return see_other(request, name, next=back)

    @router.get("/style.css", name="pages:style")
    async def style() -> FileResponse:
        return FileResponse(
            HERE / "static" / "style.css",
            media_type="text/css",
            headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    @router.get("/signup", name="pages:signup", dependencies=SHOWS_THE_USER)
    async def signup_page(request: Request) -> Response:
        return page(request, "signup.html", values=initial_values())

    @router.post("/signup")
    async def signup(request: Request, services: UserServicesDep) -> Response:
        form = await request.form()
        own, unreadable = field_values(form, clear_empty=False)
        values = {"email": text(form, "email"), **own}
        try:
            user_create = UserCreate.model_validate({**values, "password": text(form, "password")})
        except ValidationError as error:
            errors = {**field_errors(error), **unreadable}
            return page(request, "signup.html", 400, errors=errors, values=values)
        if unreadable:
            return page(request, "signup.html", 400, errors=unreadable, values=values)
        try:
            user = await register(request, user_create, services)
        except HTTPException as refusal:
            return refused(request, "signup.html", refusal, values=values)
        await services.manager.request_verify(user, request)
        if services.requires_verification:
            return see_other(request, "pages:login", "signed-up-verify")
        tokens = await services.access_tokens.issue(user, request)
        return logged_in(request, tokens, request.url_for("pages:account").path + "?done=signed-up")

    @router.get("/login", name="pages:login", dependencies=SHOWS_THE_USER)
    async def login_page(request: Request) -> Response:
        return page(request, "login.html", next=request.query_params.get("next", ""))

    @router.post("/login")
    async def login(request: Request, services: UserServicesDep) -> Response:
        form = await request.form()
        email, target = text(form, "email"), text(form, "next")
        context = {"values": {"email": email}, "next": target}
        try:
            user, tokens = await log_in(
                request,
                services,
                email,
                text(form, "password"),
                requires_verification=services.requires_verification,
            )
        except HTTPException as refusal:
            return refused(request, "login.html", refusal, **context)
        response = logged_in(
            request, tokens, local_path(target, request.url_for("pages:account").path)
        )
        await services.manager.on_after_login(user, request, response)
        return response

    @router.get("/session/resume", name="pages:resume")
    async def resume(request: Request, services: UserServicesDep) -> Response:
        """Renew the access cookie with the refresh cookie, which browsers send only here and
        only from this site's pages (SameSite=Strict), then go on to ``next``. A navigation from
        another origin, even on this site (which could have planted a refresh cookie of its
        own), and more than one refresh cookie, log in afresh instead."""
        target = local_path(request.query_params.get("next"), request.url_for("pages:account").path)
        refresh_token = single_cookie(request, cookie.refresh_cookie_name)
        if refresh_token is None or not is_same_origin(request, navigation=True):
            return see_other(request, "pages:login", next=target)
        try:
            tokens = await renew(request, services, refresh_token)
        except HTTPException:
            return see_other(request, "pages:login", next=target)
        return logged_in(request, tokens, target)

    @router.post("/session/logout", name="pages:logout")
    async def logout(request: Request, session: PageSession, services: UserServicesDep) -> Response:
        """End the session of the access cookie, or of the refresh cookie once the access cookie
        has expired (both are sent here)."""
        session_id = session.session_id if session is not None else None
        store = services.access_tokens.refresh_tokens
        refresh_token = single_cookie(request, cookie.refresh_cookie_name)
        if session_id is None and store is not None and refresh_token is not None:
            session_id = store.session_of(refresh_token)
        if session_id is not None:
            await services.access_tokens.revoke(session_id)
        response = see_other(request, "pages:login", "logged-out")
        cookie.clear_cookies(response, resume_path(request))
        return response

    @router.get("/verify", name="pages:verify", dependencies=SHOWS_THE_USER)
    async def verify_page(request: Request) -> Response:
        # A button posts the token: mail scanners that open links must not use it up.
        return page(request, "verify.html", token=request.query_params.get("token", ""))

    @router.post("/verify")
    async def verify_email(request: Request, services: UserServicesDep) -> Response:
        form = await request.form()
        token = text(form, "token")
        try:
            await verify(request, token, services)
        except HTTPException as refusal:
            return refused(request, "verify.html", refusal, token=token)
        return page(request, "verified.html")

    @router.get("/verify/resend", name="pages:resend_verification", dependencies=SHOWS_THE_USER)
    async def resend_verification_page(request: Request) -> Response:
        return page(request, "resend.html")

    @router.post("/verify/resend")
    async def resend_verification(request: Request, services: UserServicesDep) -> Response:
        """Send a new verification link to an address, answered alike whether it has an
        account or not, as POST /auth/request-verify-token does."""
        refusal = await send_link_from_form(
            request,
            services,
            "resend.html",
            limit="request-verify-token",
            send=lambda manager: manager.request_verify,
            what="send a verification link",
        )
        if refusal is not None:
            return refusal
        came_from = text(await request.form(), "from")
        back = "pages:account" if came_from == "account" else "pages:resend_verification"
        return see_other(request, back, "verify-sent")

    @router.get("/forgot-password", name="pages:forgot_password", dependencies=SHOWS_THE_USER)
    async def forgot_password_page(request: Request) -> Response:
        return page(request, "forgot.html")

    @router.post("/forgot-password")
    async def forgot_password(request: Request, services: UserServicesDep) -> Response:
        refusal = await send_link_from_form(
            request,
            services,
            "forgot.html",
            limit="forgot-password",
            send=lambda manager: manager.forgot_password,
            what="send a password reset link",
        )
        if refusal is not None:
            return refusal
        return see_other(request, "pages:forgot_password", "reset-sent")

    @router.get("/reset-password", name="pages:reset_password", dependencies=SHOWS_THE_USER)
    async def reset_password_page(request: Request) -> Response:
        return page(request, "reset.html", token=request.query_params.get("token", ""))

    @router.post("/reset-password")
    async def reset(request: Request, services: UserServicesDep) -> Response:
        form = await request.form()
        token = text(form, "token")
        try:
            await reset_password(request, token, text(form, "password"), services)
        except HTTPException as refusal:
            return refused(request, "reset.html", refusal, token=token)
        return see_other(request, "pages:login", "password-reset")

    async def account_page(
        request: Request,
        session: Authenticated,
        status_code: int = status.HTTP_200_OK,
        *,
        refusal: HTTPException | None = None,
        errors: dict[str, str] | None = None,
        form: str = "",
        values: dict[str, Any] | None = None,
    ) -> Response:
        """The settings page; with a refused ``form``'s errors next to its fields."""
        shown = {field.name: getattr(session.user, field.name) for field in FORM_FIELDS}
        context = {"failed_form": form, "values": {**shown, **(values or {})}}
        if refusal is not None:
            return refused(request, "account.html", refusal, **context)
        return page(request, "account.html", status_code, errors=errors or {}, **context)

    @router.get("/", name="pages:account")
    async def account(request: Request, session: PageSession) -> Response:
        if session is None:
            return log_in_first(request)
        return await account_page(request, session)

    async def change(
        request: Request,
        session: Authenticated,
        services: UserServicesDep,
        form_name: str,
        changes: dict[str, Any],
        values: dict[str, Any],
    ) -> Response | None:
        """Apply ``changes`` as PATCH /users/me does; the settings page with the errors if it
        refuses them, or None."""
        try:
            update = UserSelfUpdate.model_validate(changes)
        except ValidationError as error:
            errors = field_errors(error)
            return await account_page(
                request, session, 400, errors=errors, form=form_name, values=values
            )
        try:
            await update_me(request, update, session.user, services)
        except HTTPException as refusal:
            if refusal.status_code == status.HTTP_401_UNAUTHORIZED:
                return log_in_first(request)
            return await account_page(
                request, session, refusal=refusal, form=form_name, values=values
            )
        return None

    @router.post("/email", name="pages:change_email")
    async def change_email(
        request: Request, session: PageSession, services: UserServicesDep
    ) -> Response:
        if session is None:
            return log_in_first(request)
        form = await request.form()
        email = text(form, "email")
        changes = {"email": email, "current_password": text(form, "current_password")}
        refusal = await change(request, session, services, "email", changes, {"email": email})
        if refusal is not None:
            return refusal
        user = await services.manager.get(session.user.id)
        if user.is_verified:  # the same address, spelled otherwise
            return see_other(request, "pages:account", "saved")
        # The new address is not verified: send it the link straight away.
        await services.manager.request_verify(user, request)
        return see_other(request, "pages:account", "email-changed")

    @router.post("/password", name="pages:change_password")
    async def change_password(
        request: Request, session: PageSession, services: UserServicesDep
    ) -> Response:
        if session is None:
            return log_in_first(request)
        form = await request.form()
        changes = {
            "password": text(form, "password"),
            "current_password": text(form, "current_password"),
        }
        refusal = await change(request, session, services, "password", changes, {})
        if refusal is not None:
            return refusal
        # A new password ends every session, this one too.
        response = see_other(request, "pages:login", "password-changed")
        cookie.clear_cookies(response, resume_path(request))
        return response

    if FORM_FIELDS:

        @router.post("/profile", name="pages:change_profile")
        async def change_profile(
            request: Request, session: PageSession, services: UserServicesDep
        ) -> Response:
            if session is None:
                return log_in_first(request)
            values, unreadable = field_values(await request.form(), clear_empty=True)
            if unreadable:
                return await account_page(
                    request, session, 400, errors=unreadable, form="profile", values=values
                )
            refusal = await change(request, session, services, "profile", values, values)
            return refusal or see_other(request, "pages:account", "saved")

    @router.get("/sessions", name="pages:sessions")
    async def sessions_page(
        request: Request, session: PageSession, services: UserServicesDep
    ) -> Response:
        if session is None:
            return log_in_first(request)
        listed = await my_sessions(session, services)
        return page(request, "sessions.html", sessions=listed)

    @router.post("/sessions/{session_id}/end", name="pages:end_session")
    async def end_one(
        request: Request, session_id: uuid.UUID, session: PageSession, services: UserServicesDep
    ) -> Response:
        if session is None:
            return log_in_first(request)
        with suppress(HTTPException):  # ended already
            await end_session(services, session_id, session.user.id)
        if session_id == session.session_id:
            response = see_other(request, "pages:login", "logged-out")
            cookie.clear_cookies(response, resume_path(request))
            return response
        return see_other(request, "pages:sessions", "session-ended")

    @router.post("/sessions/end-others", name="pages:end_other_sessions")
    async def end_others(
        request: Request, session: PageSession, services: UserServicesDep
    ) -> Response:
        if session is None:
            return log_in_first(request)
        await end_my_other_sessions(session, services)
        return see_other(request, "pages:sessions", "others-ended")

    return router
