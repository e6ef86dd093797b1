"""Password hashing with Argon2id, through passlib's CryptContext.

Hashing is deliberately slow, so it never runs on the event loop: each hash or verification
runs in a thread of its own small pool, which bounds how many run at once, at a lower CPU
priority than the event loop. Without that, a few clients logging in would stall every other
request of the process.
"""

import asyncio
import heapq
import itertools
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
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


class Turns:
    """At most ``size`` holders at once and ``max_waiting`` waiting, plus as many logins; logins
    go first.

    Hand-written because neither asyncio nor anyio has a semaphore with priorities and a
    bounded queue. A login waits for the hashes already running, not for every registration
    of a flood, and the queue stays bounded.
    """

    def __init__(self, size: int, max_waiting: int) -> None:
        self._free = size
        self._max_waiting = max_waiting
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @asynccontextmanager
    async def turn(self, *, urgent: bool) -> AsyncIterator[None]:
        """Wait for a turn (`HashingBusy` if too many wait already) and hold it while inside."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
        else:
            # A login is refused only when as many logins wait already: a queue full of
            # registrations does not lock users out.
            if urgent:
                waiting = sum(1 for priority, _, _ in self._waiting if priority == 0)
            else:
                waiting = len(self._waiting)
            if waiting >= self._max_waiting:
                raise HashingBusy
            future = asyncio.get_running_loop().create_future()
            entry = (0 if urgent else 1, next(self._order), future)
            heapq.heappush(self._waiting, entry)
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self._pass_on()  # handed a turn just as the request went away
                else:
                    self._waiting.remove(entry)
                    heapq.heapify(self._waiting)
                raise
        try:
            yield
        finally:
            self._pass_on()

    @property
    def waiting(self) -> int:
        """How many wait for a turn now."""
        return len(self._waiting)

    def _pass_on(self) -> None:
        while self._waiting:
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)
                return
        self._free += 1


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
        # At most `concurrency` hashes at once; up to `max_waiting` more wait for a turn,
        # logins first. Past that, `HashingBusy`: a flood of registrations is refused instead
        # of queueing every login behind it.
        self._turns = Turns(concurrency, max_waiting)
        self._threads = ThreadPoolExecutor(
            max_workers=concurrency,
            thread_name_prefix="password-hashing",
            initializer=lower_thread_priority,
        )
        # Verified against when the email is unknown, so a wrong email costs as much as a
        # wrong password and response times do not reveal which accounts exist.
        self._dummy_hash = self.context.hash("not the password of any account")

    @property
    def waiting(self) -> int:
        """How many hashes and checks wait for a thread now (for metrics, and tests)."""
        return self._turns.waiting

    async def _run(self, function: Callable[..., T], *args: str, urgent: bool = True) -> T:
        async with self._turns.turn(urgent=urgent):
            return await asyncio.get_running_loop().run_in_executor(self._threads, function, *args)

    async def hash(self, password: str) -> str:
        """Return a new Argon2id hash of ``password`` (after any waiting login's check)."""
        hashed: str = await self._run(self.context.hash, password, urgent=False)
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
