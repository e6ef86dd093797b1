"""Password hashing with Argon2id, through passlib's CryptContext.

Hashing is deliberately slow, so it never runs on the event loop: each hash or verification
runs in a thread of its own small pool, which bounds how many run at once, at a lower CPU
priority than the event loop. Without that, a few clients logging in would stall every other
request of the process.
"""

import asyncio
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from passlib.context import CryptContext

T = TypeVar("T")

# How much lower the hashing threads' CPU priority is (a nice value, 0–19). When the cores are
# busy, the event loop thread goes first: measured with 4 clients logging in, this kept
# GET /users/me's p99 at a fraction of what equal priority gave, for fewer logins per second.
# When a core is idle, hashing still gets all of it.
HASHING_NICENESS = 10


def lower_thread_priority() -> None:
    """Lower the CPU priority of the calling thread (Linux only: elsewhere niceness is
    per process, and the event loop would be slowed with it)."""
    if sys.platform == "linux":
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


class HashingBusy(Exception):
    """Too many hashes wait already: the request is refused (503) rather than queued."""


class PasswordHasher:
    """Hashes new passwords and checks given ones, re-hashing when the parameters change."""

    def __init__(
        self,
        *,
        memory_cost_kib: int,
        time_cost: int,
        parallelism: int,
        concurrency: int,
        max_waiting: int,
    ) -> None:
        self.context = CryptContext(
            schemes=["argon2"],
            argon2__type="ID",
            argon2__memory_cost=memory_cost_kib,
            argon2__rounds=time_cost,
            argon2__parallelism=parallelism,
        )
        # At most `concurrency` hashes at once; more wait for a free thread.
        self._threads = ThreadPoolExecutor(
            max_workers=concurrency,
            thread_name_prefix="password-hashing",
            initializer=lower_thread_priority,
        )
        # A flood of registrations must not queue every login behind it for minutes: past
        # `max_waiting` waiting hashes, `HashingBusy` (the event loop runs one request at a
        # time, so a plain counter is exact).
        self._room = concurrency + max_waiting
        self._in_flight = 0
        # Verified against when the email is unknown, so a wrong email costs as much as a
        # wrong password and response times do not reveal which accounts exist.
        self._dummy_hash = self.context.hash("not the password of any account")

    async def _run(self, function: Callable[..., T], *args: str) -> T:
        if self._in_flight >= self._room:
            raise HashingBusy
        self._in_flight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._threads, function, *args)
        finally:
            self._in_flight -= 1

    async def hash(self, password: str) -> str:
        """Return a new Argon2id hash of ``password``."""
        hashed: str = await self._run(self.context.hash, password)
        return hashed

    async def verify_and_update(self, password: str, hashed: str) -> tuple[bool, str | None]:
        """Check ``password`` against ``hashed``; if it matches but the hash is outdated (older
        parameters or scheme), also return a fresh hash to store."""
        result: tuple[bool, str | None] = await self._run(
            self.context.verify_and_update, password, hashed
        )
        return result

    async def dummy_verify(self, password: str) -> None:
        """Spend the time of one verification, for a login whose email matches no account."""
        await self._run(self.context.verify, password, self._dummy_hash)
