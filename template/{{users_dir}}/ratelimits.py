"""Rate limits on the routes that can be abused: login (guessing passwords), forgot-password and
request-verify-token (flooding someone's inbox), and refresh (each one writes to the database).

Each attempt counts twice: against the client's address, which slows one client trying many
accounts, and against the email address, which slows many clients trying one account. The
counting is the `limits` library's moving window, kept in this process or, when REDIS_URL is
set, in Redis, so every process of the app shares the counts.
"""

import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from fastapi import HTTPException, Request, status
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from .addresses import canonical_email


def address_key(host: str) -> str:
    """The client an address counts for: IPv6 clients by their /64, since one host usually has
    a whole /64 to pick addresses from; IPv4 (mapped or not) by the address itself."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass(frozen=True)
class Limit:
    """How often one client address, and one email address, may try an action."""

    per_address: list[RateLimitItem]
    per_email: list[RateLimitItem]

    @classmethod
    def parse(cls, per_address: str, per_email: str) -> "Limit":
        """Build a limit from two settings such as ``"10/minute;100/hour"``."""
        return cls(parse_many(per_address), parse_many(per_email))


def create_storage(redis_url: str | None, key_prefix: str, timeout: float) -> Storage:
    """Counts in Redis if ``redis_url`` is set, else in this process's memory.

    Storage errors (Redis unreachable, or no answer within ``timeout`` seconds) are raised as
    `limits.errors.StorageError`, which the app answers with 503: refusing is safer than
    letting password guesses through uncounted.
    """
    if redis_url:
        return RedisStorage(
            f"async+{redis_url}",
            key_prefix=key_prefix,
            wrap_exceptions=True,
            connect_timeout=timeout,
            stream_timeout=timeout,
        )
    return MemoryStorage(wrap_exceptions=True)


class RateLimits:
    """Counts attempts and refuses those over the limit with 429 and a Retry-After header."""

    def __init__(
        self,
        storage: Storage,
        *,
        login: Limit,
        email: Limit,
        register: list[RateLimitItem],
        password_change: list[RateLimitItem],
        refresh: list[RateLimitItem],
    ) -> None:
        self.limiter = MovingWindowRateLimiter(storage)
        self.login = login
        self.email = email
        self.register = register
        self.password_change = password_change
        self.refresh = refresh

    async def hit(self, action: str, limit: Limit, request: Request, email: str) -> None:
        """Count one ``action`` by this client for ``email``; 429 if either count is over."""
        # Counted per account: the spellings of one account (see addresses.py) share a count,
        # and any other spelling finds no account. Hashed, so the store holds no addresses.
        email_hash = hashlib.sha256(canonical_email(email).encode()).hexdigest()
        await self._count(
            action,
            (limit.per_address, self._address(request)),
            (limit.per_email, f"email:{email_hash}"),
        )

    async def hit_address(self, action: str, items: list[RateLimitItem], request: Request) -> None:
        """Count one ``action`` by this client; 429 if the count is over."""
        await self._count(action, (items, self._address(request)))

    @staticmethod
    def _address(request: Request) -> str:
        return f"address:{address_key(request.client.host) if request.client else 'unknown'}"

    async def _count(self, action: str, *counts: tuple[list[RateLimitItem], str]) -> None:
        for items, who in counts:
            for item in items:
                if not await self.limiter.hit(item, action, who):
                    stats = await self.limiter.get_window_stats(item, action, who)
                    retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                    raise HTTPException(
                        status.HTTP_429_TOO_MANY_REQUESTS,
                        detail="Too many attempts, retry later",
                        headers={"Retry-After": str(retry_after)},
                    )
