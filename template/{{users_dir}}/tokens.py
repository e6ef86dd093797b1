"""Signed, expiring tokens (JWT, HS256) for sessions, email verification and password resets.

Each purpose has its own audience, so a token made for one can never be used for another,
and the accepted algorithm is fixed, so a token cannot choose how it is checked.
"""

import datetime as dt
import hashlib
import hmac
import re
import uuid
from typing import Any

import jwt

ALGORITHM = "HS256"

# The audiences FastAPI Users uses, so tokens keep their meaning for clients that read them.
ACCESS_AUDIENCE = "fastapi-users:auth"
VERIFY_AUDIENCE = "fastapi-users:verify"
RESET_PASSWORD_AUDIENCE = "fastapi-users:reset"

# Three base64url segments, unpadded as JWT has them: PyJWT would also accept a trailing "=",
# which makes many spellings of one token, so a blocklist or log of tokens could be dodged.
COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class InvalidToken(Exception):
    """The token is malformed, forged, expired or meant for another purpose."""


class TokenSigner:
    """Makes and checks the app's JWTs with one secret."""

    def __init__(self, secret: str) -> None:
        self._secret = secret
        # A key of its own for fingerprints, so one can never pass for a token's signature.
        self._fingerprint_key = hashlib.sha256(b"fingerprint:" + secret.encode()).digest()

    def encode(self, claims: dict[str, Any], audience: str, lifetime_seconds: int) -> str:
        """Sign ``claims`` for ``audience``, valid for ``lifetime_seconds``."""
        now = dt.datetime.now(dt.UTC)
        payload = {
            **claims,
            "aud": audience,
            "iat": now,
            "exp": now + dt.timedelta(seconds=lifetime_seconds),
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def decode(self, token: str, audience: str) -> dict[str, Any]:
        """Return the claims of ``token``, or raise `InvalidToken`."""
        if not COMPACT_JWS.fullmatch(token):
            raise InvalidToken("not a compact JWT")
        try:
            return jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=audience,
                options={"require": ["exp", "aud", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken from error

    @staticmethod
    def uuid_claim(claims: dict[str, Any], name: str) -> uuid.UUID:
        """The claim ``name`` as a UUID; `InvalidToken` unless it is a string holding one."""
        value = claims.get(name)
        if not isinstance(value, str):
            raise InvalidToken(f"{name} is not a string")
        try:
            return uuid.UUID(value)
        except ValueError:
            raise InvalidToken(f"{name} is not a UUID") from None

    def fingerprint(self, value: str) -> str:
        """A keyed digest of ``value`` (an HMAC): it changes whenever the value does and reveals
        nothing about it, even to whoever reads a token that carries it."""
        return hmac.new(self._fingerprint_key, value.encode(), hashlib.sha256).hexdigest()
