"""Password hashing with Argon2id, through passlib's CryptContext.

Hashing is deliberately slow, so it never runs on the event loop: each hash or verification
runs in a worker thread, and a limiter bounds how many run at once. Without that, a few
clients logging in would stall every other request of the process.
"""

import anyio
from passlib.context import CryptContext


class PasswordHasher:
    """Hashes new passwords and checks given ones, re-hashing when the parameters change."""

    def __init__(
        self, *, memory_cost_kib: int, time_cost: int, parallelism: int, concurrency: int
    ) -> None:
        self.context = CryptContext(
            schemes=["argon2"],
            argon2__type="ID",
            argon2__memory_cost=memory_cost_kib,
            argon2__rounds=time_cost,
            argon2__parallelism=parallelism,
        )
        self._limiter = anyio.CapacityLimiter(concurrency)
        # Verified against when the email is unknown, so a wrong email costs as much as a
        # wrong password and response times do not reveal which accounts exist.
        self._dummy_hash = self.context.hash("not the password of any account")

    async def hash(self, password: str) -> str:
        """Return a new Argon2id hash of ``password``."""
        return await anyio.to_thread.run_sync(self.context.hash, password, limiter=self._limiter)

    async def verify_and_update(self, password: str, hashed: str) -> tuple[bool, str | None]:
        """Check ``password`` against ``hashed``; if it matches but the hash is outdated (older
        parameters or scheme), also return a fresh hash to store."""
        return await anyio.to_thread.run_sync(
            self.context.verify_and_update, password, hashed, limiter=self._limiter
        )

    async def dummy_verify(self, password: str) -> None:
        """Spend the time of one verification, for a login whose email matches no account."""
        await anyio.to_thread.run_sync(
            self.context.verify, password, self._dummy_hash, limiter=self._limiter
        )
