"""The state of a login through a provider: signed, short-lived, single-use, bound to the browser.

The authorization route hands the browser a random binding in a cookie, and the provider a
state (a JWT) holding its SHA-256. The callback accepts the state only from the browser that
holds the cookie, for the provider and purpose (login or association) it was made for, once:
a login link sent by someone else (login CSRF), a replayed or stale state, or a state of
another flow is refused before the code is redeemed. The PKCE verifier is derived from the
binding and the state's id, so nothing is stored until the callback, and only the browser
holding the cookie can complete the flow.
"""

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum

import jwt

from ..tokens import COMPACT_JWS

ALGORITHM = "HS256"
STATE_AUDIENCE = "usergen:oauth-state"
# FastAPI Users' cookie name; sent only to the /auth routes.
BINDING_COOKIE = "fastapiusersoauthcsrf"
BINDING_COOKIE_PATH = "/auth"


class Purpose(StrEnum):
    LOGIN = "login"
    ASSOCIATE = "associate"


class StateError(Exception):
    """The state is refused; ``code`` says why (FastAPI Users' error codes)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# FastAPI Users' codes for a state that is not a valid token, or an expired one.
DECODE_ERROR = "ACCESS_TOKEN_DECODE_ERROR"
EXPIRED = "ACCESS_TOKEN_ALREADY_EXPIRED"
# A valid state from another browser, provider or purpose, or used already.
INVALID_STATE = "OAUTH_INVALID_STATE"


@dataclass(frozen=True)
class Flow:
    """What the authorization route hands out: the state for the provider, the binding for the
    browser's cookie, and the PKCE challenge of this flow."""

    state: str
    binding: str
    code_challenge: str


@dataclass(frozen=True)
class CheckedState:
    """A state the callback accepted: its id (to use it up), when it expires, the user of an
    association, and this flow's PKCE verifier."""

    jti: str
    expires_at: dt.datetime
    user_id: uuid.UUID | None
    code_verifier: str


def _derive(secret: str, purpose: bytes) -> bytes:
    return hmac.new(secret.encode(), b"usergen oauth " + purpose, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of ``verifier`` (RFC 7636, section 4.2)."""
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


def binding_hash(binding: str) -> str:
    return hashlib.sha256(binding.encode()).hexdigest()


class StateSigner:
    """Makes and checks states with keys derived from SECRET for this purpose only."""

    def __init__(self, secret: str, lifetime_seconds: int) -> None:
        self._state_key = _derive(secret, b"state v1")
        self._verifier_key = _derive(secret, b"pkce v1")
        self.lifetime_seconds = lifetime_seconds

    def start(self, provider: str, purpose: Purpose, user_id: uuid.UUID | None = None) -> Flow:
        """A new flow for ``provider``: its state, browser binding and PKCE challenge."""
        binding = secrets.token_urlsafe(32)
        jti = secrets.token_urlsafe(24)
        now = dt.datetime.now(dt.UTC)
        claims: dict[str, object] = {
            "jti": jti,
            "provider": provider,
            "purpose": str(purpose),
            "bnd": binding_hash(binding),
            "aud": STATE_AUDIENCE,
            "iat": now,
            "exp": now + dt.timedelta(seconds=self.lifetime_seconds),
        }
        if user_id is not None:
            claims["sub"] = str(user_id)
        state = jwt.encode(claims, self._state_key, algorithm=ALGORITHM)
        return Flow(
            state=state,
            binding=binding,
            code_challenge=s256(self.code_verifier(binding, jti)),
        )

    def code_verifier(self, binding: str, jti: str) -> str:
        """The PKCE verifier of the flow: 43 characters of base64url (RFC 7636's minimum)."""
        message = f"{binding}.{jti}".encode()
        return _b64(hmac.new(self._verifier_key, message, hashlib.sha256).digest())

    def check(
        self, state: str | None, binding: str | None, provider: str, purpose: Purpose
    ) -> CheckedState:
        """The state of a callback, if it is this app's, unexpired, for ``provider`` and
        ``purpose``, and ``binding`` (the browser's cookie) is the one it was made with; else
        `StateError`. Whether it was used already is the store's to tell (single use)."""
        if not state or not COMPACT_JWS.fullmatch(state):
            raise StateError(DECODE_ERROR)
        try:
            claims = jwt.decode(
                state,
                self._state_key,
                algorithms=[ALGORITHM],
                audience=STATE_AUDIENCE,
                options={"require": ["exp", "aud", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise StateError(EXPIRED) from None
        except jwt.PyJWTError:
            raise StateError(DECODE_ERROR) from None
        jti, bound, exp = claims.get("jti"), claims.get("bnd"), claims.get("exp")
        if not isinstance(jti, str) or not isinstance(exp, int):
            raise StateError(DECODE_ERROR)
        # A state bound to no browser is refused as FastAPI Users refuses one without its
        # CSRF token.
        if not isinstance(bound, str) or binding is None:
            raise StateError(INVALID_STATE)
        if not hmac.compare_digest(binding_hash(binding), bound):
            raise StateError(INVALID_STATE)
        if claims.get("provider") != provider or claims.get("purpose") != str(purpose):
            raise StateError(INVALID_STATE)
        user_id = None
        if purpose is Purpose.ASSOCIATE:
            try:
                user_id = uuid.UUID(str(claims.get("sub")))
            except ValueError:
                raise StateError(INVALID_STATE) from None
        return CheckedState(
            jti=jti,
            expires_at=dt.datetime.fromtimestamp(exp, dt.UTC),
            user_id=user_id,
            code_verifier=self.code_verifier(binding, jti),
        )
