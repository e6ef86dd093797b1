"""Edits a user makes to a generated project, the way they would by hand."""

from pathlib import Path


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} not found once in {path}"
    path.write_text(text.replace(old, new))


# Each edit: (file, a line that only that edit writes), to check later that it is still there.
MARKS = {
    "column": (
        "shop/users/table.py",
        "    phone: Mapped[str | None] = mapped_column(sa.String(32))",
    ),
    "method": ("shop/users/table.py", "    def display_name(self) -> str:"),
    "migration": ("migrations/versions/7c1e2f_add_phone_to_user.py", 'revision = "7c1e2f"'),
    "validator": (
        "shop/users/schemas.py",
        "    def refuse_throwaway_addresses(cls, value: str) -> str:",
    ),
    "route": (
        "shop/main.py",
        '    app.include_router(profile.router, prefix="/users", tags=["users"])',
    ),
    "route module": ("shop/users/routers/profile.py", '@router.get("/me/greeting")'),
    "test": (
        "tests/test_profile.py",
        "async def test_greeting(client: httpx.AsyncClient) -> None:",
    ),
    "test update": ("tests/test_app.py", '        ("GET", "/users/me/greeting"): {"200", "503"},'),
}

PHONE_MIGRATION = '''"""Add phone to user.

Revision ID: 7c1e2f
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "7c1e2f"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user") as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user") as batch_op:
        batch_op.drop_column("phone")
'''

PROFILE_ROUTER = '''"""Small things about the current user."""

from typing import Annotated

from fastapi import APIRouter, Depends

from ..dependencies import current_active_user
from ..schemas import UserDB

router = APIRouter()


@router.get("/me/greeting")
async def greeting(user: Annotated[UserDB, Depends(current_active_user)]) -> dict[str, str]:
    return {"greeting": f"Hello, {user.email.split('@')[0]}!"}
'''

PROFILE_TEST = '''"""The greeting route and the throwaway-address rule."""

import httpx
import pytest

from .helpers import bearer, login, register, user_data

pytestmark = pytest.mark.anyio


async def test_greeting(client: httpx.AsyncClient) -> None:
    await register(client, "ada@example.com")
    token = await login(client, "ada@example.com")

    response = await client.get("/users/me/greeting", headers=bearer(token))

    assert response.json() == {"greeting": "Hello, ada!"}


async def test_throwaway_addresses_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/register", json=user_data("x@mailinator.com"))

    assert response.status_code == 422
'''


def edit_like_a_user(project: Path) -> None:
    """A column and a method on UserTable (with its own migration), a validator on UserCreate,
    a new route, and a test of them."""
    package = project / "shop"
    replace(
        package / "users" / "table.py",
        '    """The user table of this app: add your own columns here."""\n',
        '    """The user table of this app: add your own columns here."""\n\n'
        "    phone: Mapped[str | None] = mapped_column(sa.String(32))\n\n"
        "    def display_name(self) -> str:\n"
        '        """The part of the email before the @."""\n'
        '        return self.email.split("@")[0]\n',
    )
    (project / "migrations" / "versions" / "7c1e2f_add_phone_to_user.py").write_text(
        PHONE_MIGRATION
    )
    replace(
        package / "users" / "schemas.py",
        "    email: EmailStr\n    password: str\n",
        "    email: EmailStr\n    password: str\n\n"
        '    @field_validator("email")\n'
        "    @classmethod\n"
        "    def refuse_throwaway_addresses(cls, value: str) -> str:\n"
        '        if value.rsplit("@", 1)[-1].lower() in {"mailinator.com", "yopmail.com"}:\n'
        '            raise ValueError("use an address you keep")\n'
        "        return value\n",
    )
    (package / "users" / "routers" / "profile.py").write_text(PROFILE_ROUTER)
    replace(
        package / "main.py",
        "from .users.routers import register, reset, users, verify\n",
        "from .users.routers import profile, register, reset, users, verify\n",
    )
    replace(
        package / "main.py",
        '    app.include_router(users.router, prefix="/users", tags=["users"])\n',
        '    app.include_router(profile.router, prefix="/users", tags=["users"])\n'
        '    app.include_router(users.router, prefix="/users", tags=["users"])\n',
    )
    (project / "tests" / "test_profile.py").write_text(PROFILE_TEST)
    replace(
        project / "tests" / "test_app.py",
        '        ("DELETE", "/users/{id}"): {"204", "401", "403", "404", "422", "503"},\n',
        '        ("DELETE", "/users/{id}"): {"204", "401", "403", "404", "422", "503"},\n'
        '        ("GET", "/users/me/greeting"): {"200", "503"},\n',
    )


def missing_edits(project: Path) -> list[str]:
    return [name for name, (rel, line) in MARKS.items() if line not in (project / rel).read_text()]
