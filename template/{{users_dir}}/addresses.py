"""When two email addresses are the same account.

Uniqueness, lookups and the per-email rate limits all compare this canonical form, byte for
byte, so what the database treats as one account is exactly what the limits count as one.
"""

import unicodedata


def canonical_email(email: str) -> str:
    """The form of ``email`` that decides which account it names.

    Addresses that differ only in case, or in how a letter is composed (é as one code point or
    as e plus an accent), are the same account. Nothing else is folded: an accent, a fullwidth
    letter or an invisible character makes a different address, whatever a database collation
    would say. Surrounding whitespace goes, as address validation drops it at registration.
    """
    composed = unicodedata.normalize("NFC", email.strip())
    return unicodedata.normalize("NFC", composed.casefold())
