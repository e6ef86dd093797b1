"""Encryption of the provider tokens kept with OAUTH_STORE_TOKENS: Fernet (AES-128-CBC with
HMAC-SHA256, from PyCA's cryptography) with a key derived from SECRET by HKDF-SHA256.

A token that no longer decrypts (SECRET changed) reads as absent: the next login through the
provider stores a new one.
"""

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HKDF_INFO = b"usergen oauth-token v1"


def token_key(secret: str) -> bytes:
    """The Fernet key of ``secret`` (urlsafe base64 of 32 derived bytes)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
        secret.encode()
    )
    return base64.urlsafe_b64encode(derived)


class TokenCipher:
    def __init__(self, secret: str) -> None:
        self._fernet = Fernet(token_key(secret))

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode("ascii")

    def decrypt(self, stored: str | None) -> str | None:
        """The token, or None if there is none or it does not decrypt with this SECRET's key."""
        if not stored:
            return None
        try:
            return self._fernet.decrypt(stored.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            return None
