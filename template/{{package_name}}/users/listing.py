"""The admin user list (GET /users): its filters, its cursor, the queries of one page, and the
page as the API shows it.

Pages follow each other by keyset, not by offset: a page is "the next ``limit`` users after
the last one shown", in creation order (oldest or newest first) with the id breaking ties.
Users registering (or being deleted) while an admin pages through never make a page repeat or
skip anyone who was there before. Oldest first, new users come last, so a walk to the end sees
them too; newest first, they come before the first page, and the walk does not. And each
page, however deep, is one range of the index on (created_at, id), where an offset would read
and throw away every row before it.
"""

import base64
import datetime as dt
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

import sqlalchemy as sa
from pydantic import AfterValidator, BaseModel, ConfigDict

from ..db import as_utc
from .addresses import canonical_email
from .schemas import User

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# The highest code point; no character sorts after it.
_LAST_CHARACTER = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)


class Order(StrEnum):
    """Which users come first: the oldest accounts, or the newest."""

    OLDEST = "oldest"
    NEWEST = "newest"


@dataclass(frozen=True)
class UserFilter:
    """Which users to list; None means either."""

    email_prefix: str | None = None
    is_active: bool | None = None
    is_verified: bool | None = None
    is_superuser: bool | None = None


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the creation time and id of its last user, and the total that the
    first page counted (later pages pass it on rather than count again).

    Clients get it as an opaque string (URL-safe base64 of the three), so its form may change
    without breaking them.
    """

    created_at: dt.datetime
    id: uuid.UUID
    total: int

    def encode(self) -> str:
        text = f"{self.created_at.isoformat()} {self.id.hex} {self.total}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> "Cursor":
        """The cursor ``encode`` wrote; ValueError for anything else."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            created_at, id, total = raw.split(" ")
            when = dt.datetime.fromisoformat(created_at)
            if when.tzinfo is None or not total.isdigit():
                raise ValueError("no time zone, or no count")
            return cls(when.astimezone(dt.UTC), uuid.UUID(hex=id), int(total))
        except (ValueError, OverflowError):
            # Bad base64, UTF-8, time, id or count, or not three parts, are all ValueErrors;
            # OverflowError is a time near year 1 in another zone.
            raise ValueError("not a cursor of this list") from None


class ListedUser(User):
    """A user in the admin list. `User` itself stays exactly FastAPI Users' shape: the routes
    the two share answer the same keys."""

    created_at: Annotated[dt.datetime, AfterValidator(as_utc)]


class UserPage(BaseModel):
    """One page of the admin user list (GET /users)."""

    items: list[ListedUser]
    # How many users matched the filters when the first page was read (later pages repeat it).
    total: int
    # Pass it as ``cursor`` for the next page; null on the last one.
    next_cursor: str | None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                            "email": "ada@example.com",
                            "is_active": True,
                            "is_superuser": False,
                            "is_verified": True,
                            "created_at": "2026-12-01T09:00:00.123456Z",
                        }
                    ],
                    "total": 1342,
                    # The cursor of the user above, the last of its page.
                    "next_cursor": (
                        "MjAyNi0xMi0wMVQwOTowMDowMC4xMjM0NTYrMDA6MDAg"
                        "M2ZhODVmNjQ1NzE3NDU2MmIzZmMyYzk2M2Y2NmFmYTYgMTM0Mg"
                    ),
                }
            ]
        }
    )


def prefix_bounds(prefix: str) -> tuple[str, str | None]:
    """The range of strings that start with ``prefix``: at least the prefix, and below the
    returned upper bound (None: no bound), in code point order.

    The canonical email compares byte for byte (code point order) on every database, so
    ``low <= normalized_email < high`` is a prefix match that any B-tree index on it answers
    with one range scan, on SQLite and MySQL too (where LIKE would not use the index). It also
    takes % and _ literally, with no escaping to get wrong.
    """
    for end in range(len(prefix) - 1, -1, -1):
        following = ord(prefix[end]) + 1
        if following in _SURROGATES:
            following = _SURROGATES.stop
        if following <= _LAST_CHARACTER:
            return prefix, prefix[:end] + chr(following)
    return prefix, None


def conditions(users: sa.Table, filters: UserFilter) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses of ``filters``."""
    found: list[sa.ColumnElement[bool]] = []
    if filters.email_prefix:
        low, high = prefix_bounds(canonical_email(filters.email_prefix))
        found.append(users.c.normalized_email >= low)
        if high is not None:
            found.append(users.c.normalized_email < high)
    for flag in ("is_active", "is_verified", "is_superuser"):
        wanted: bool | None = getattr(filters, flag)
        if wanted is not None:
            found.append(users.c[flag] == wanted)
    return found


def after(users: sa.Table, cursor: Cursor, order: Order) -> sa.ColumnElement[bool]:
    """The users that come after ``cursor`` in the list's ``order``.

    Spelled as ``created_at >= t AND (created_at > t OR id > i)`` rather than as a row
    comparison: every database then scans the index from t onwards (MySQL does not use an
    index for row comparisons). Newest first, the same with < and <=, scanning backwards.
    """
    created_at, id = users.c.created_at, users.c.id
    if order is Order.NEWEST:
        return sa.and_(
            created_at <= cursor.created_at,
            sa.or_(created_at < cursor.created_at, id < cursor.id),
        )
    return sa.and_(
        created_at >= cursor.created_at,
        sa.or_(created_at > cursor.created_at, id > cursor.id),
    )


def page_query(
    users: sa.Table, filters: UserFilter, cursor: Cursor | None, limit: int, order: Order
) -> sa.Select[tuple[object, ...]]:
    """The users of one page, plus one to tell whether another page follows."""
    where = conditions(users, filters)
    if cursor is not None:
        where.append(after(users, cursor, order))
    created_at, id = users.c.created_at, users.c.id
    sort = (created_at.desc(), id.desc()) if order is Order.NEWEST else (created_at, id)
    return sa.select(users).where(*where).order_by(*sort).limit(limit + 1)


def count_query(users: sa.Table, filters: UserFilter) -> sa.Select[tuple[int]]:
    """How many users match ``filters``, on every page alike."""
    return sa.select(sa.func.count()).select_from(users).where(*conditions(users, filters))
