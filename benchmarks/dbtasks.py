"""Database chores of the benchmark, run inside a benchmark virtualenv by run.py.

    python dbtasks.py create URL          create the database URL names (PostgreSQL or MariaDB)
    python dbtasks.py drop URL            drop it again
    python dbtasks.py seed URL TOTAL      bulk-insert users until the table holds TOTAL rows
    python dbtasks.py lookup URL APP      time the app's own email lookup and EXPLAIN it (JSON)
    python dbtasks.py listing URL N       time ours' admin user list (GET /users: the first page,
                                          an email prefix) and EXPLAIN its queries (JSON)

URLs are SQLAlchemy async URLs (postgresql+asyncpg://…, mysql+aiomysql://…). The user table of
both apps is called "user" and has the same six columns, so seeding is shared; the lookup goes
through each app's own code (APP is "ours" or "reference"; for "ours", BENCH_PACKAGE names the
generated package and DATABASE_URL/SECRET configure it).
"""

import asyncio
import datetime as dt
import importlib
import json
import os
import random
import statistics
import sys
import time
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

PASSWORD = "correct horse battery staple"
SEED_EMAIL = "seed-{}@example.com"
LOOKUP_SAMPLES = 300


async def server_statement(url: str, statement: str) -> None:
    """Run one statement on the server of ``url`` outside any transaction."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(statement))
    await engine.dispose()


def admin_url(url: str) -> str:
    parsed = make_url(url)
    database = "postgres" if parsed.get_backend_name() == "postgresql" else "mysql"
    return parsed.set(database=database).render_as_string(hide_password=False)


async def create(url: str) -> None:
    parsed = make_url(url)
    name = parsed.database
    if parsed.get_backend_name() == "mysql":
        statement = f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    else:
        statement = f"CREATE DATABASE {name}"
    await server_statement(admin_url(url), statement)


async def drop(url: str) -> None:
    parsed = make_url(url)
    force = "" if parsed.get_backend_name() == "mysql" else " WITH (FORCE)"
    await server_statement(admin_url(url), f"DROP DATABASE IF EXISTS {parsed.database}{force}")


async def seed(url: str, total: int) -> dict[str, Any]:
    """One INSERT … SELECT over generate_series, every row with the same precomputed hash."""
    import asyncpg

    hashed = PasswordHasher().hash(PASSWORD)  # argon2id, verifiable by both apps
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        existing = await connection.fetchval('SELECT count(*) FROM "user"')
        seeded = await connection.fetchval(
            # COLLATE "C": LIKE refuses the case-insensitive (nondeterministic) collation.
            """SELECT count(*) FROM "user" WHERE email COLLATE "C" LIKE 'seed-%'"""
        )
        start = time.perf_counter()
        # Ours keeps each email's canonical form beside it (for these ASCII addresses, the
        # address itself); the reference has no such column.
        canonical = await connection.fetchval(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'user' AND column_name = 'normalized_email'"
        )
        extra_column, extra_value = (", normalized_email", ", e") if canonical else ("", "")
        created = await connection.fetchval(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'user' AND column_name = 'created_at'"
        )
        if created:
            # Ours records when each user was created: one a second, the last one now.
            extra_column += ", created_at"
            extra_value += ", timezone('utc', now()) - make_interval(secs => $3::int - g)"
        if total > existing:
            # Seeded emails are numbered seed-1… without gaps, whatever else the table holds.
            await connection.execute(
                f'INSERT INTO "user" (id, email{extra_column}, hashed_password, is_active, '
                f"is_superuser, is_verified) SELECT gen_random_uuid(), e{extra_value}, $1, "
                "true, false, false FROM generate_series($2::int, $3::int) AS g, "
                "LATERAL (SELECT 'seed-' || g || '@example.com' AS e) AS seeded",
                hashed,
                seeded + 1,
                seeded + total - existing,
            )
            seeded += total - existing
        # What autovacuum does for a table that grew to this size over time: statistics, and
        # the visibility map that lets counts read an index alone.
        await connection.execute('VACUUM ANALYZE "user"')
        rows = await connection.fetchval('SELECT count(*) FROM "user"')
    finally:
        await connection.close()
    return {"rows": rows, "seeded": seeded, "seconds": round(time.perf_counter() - start, 2)}


async def measure(
    lookup: Any, sent: list[tuple[str, Any]], raw: Any, highest: int
) -> dict[str, Any]:
    """Time ``lookup(email)`` over random seeded emails; EXPLAIN the query it sent last.

    ``sent`` collects (SQL, parameters) as the app's code sends them; ``raw`` is the asyncpg
    connection to EXPLAIN on.
    """
    emails = [SEED_EMAIL.format(random.randint(1, highest)) for _ in range(LOOKUP_SAMPLES + 30)]
    timings = []
    for index, email in enumerate(emails):
        start = time.perf_counter()
        user = await lookup(email)
        elapsed = time.perf_counter() - start
        if user is None:
            raise SystemExit(f"seeded user {email} not found")
        if index >= 30:  # the first ones warm caches and the statement cache
            timings.append(elapsed)
    query, params = next(item for item in reversed(sent) if "email" in item[0].lower())
    plan = await raw.fetch("EXPLAIN (ANALYZE, COSTS off) " + query, *params)
    return {
        "p50_ms": round(statistics.median(timings) * 1000, 3),
        "query": " ".join(query.split()),
        "explain": [row[0] for row in plan],
    }


async def lookup_ours(highest: int) -> dict[str, Any]:
    main = importlib.import_module(f"{os.environ['BENCH_PACKAGE']}.main")
    app = main.create_app()
    async with app.router.lifespan_context(app):
        manager = app.state.user_services.manager
        database = app.state.database
        # `databases` binds a connection to the task: the manager's queries run on this one,
        # and asyncpg's query logger sees what they send.
        async with database.connection() as connection:
            raw = connection.raw_connection
            sent: list[tuple[str, Any]] = []

            def record(logged: Any) -> None:
                sent.append((logged.query, logged.args))

            raw.add_query_logger(record)

            async def lookup(email: str) -> Any:
                return await manager.user_db.get_by_email(email)

            return await measure(lookup, sent, raw, highest)


LISTING_SAMPLES = 50


async def listing_ours(highest: int) -> dict[str, Any]:
    """Time GET /users's work through the app's own code (the manager, as the route calls it):
    the first page with no filter (oldest and newest first), a page from the middle of the list
    (after a cursor), and the first page of an email prefix that about a hundred seeded users
    have. EXPLAIN ANALYZE each query it sent for the last of them (the page, and on a first page
    the count)."""
    main = importlib.import_module(f"{os.environ['BENCH_PACKAGE']}.main")
    listing = importlib.import_module(f"{os.environ['BENCH_PACKAGE']}.users.listing")
    app = main.create_app()
    prefix = "seed-" + str(random.randint(1, highest))[:4]
    found: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        manager = app.state.user_services.manager
        database = app.state.database
        async with database.connection() as connection:
            raw = connection.raw_connection
            middle = await raw.fetchrow(
                'SELECT created_at, id FROM "user" ORDER BY created_at, id OFFSET $1 LIMIT 1',
                highest // 2,
            )
            cases = {
                "first page": (listing.UserFilter(), None, listing.Order.OLDEST),
                "first page, newest first": (listing.UserFilter(), None, listing.Order.NEWEST),
                "a page from the middle": (
                    listing.UserFilter(),
                    listing.Cursor(
                        middle["created_at"].replace(tzinfo=dt.UTC), middle["id"], highest
                    ),
                    listing.Order.OLDEST,
                ),
                f"email prefix {prefix!r}, first page": (
                    listing.UserFilter(email_prefix=prefix),
                    None,
                    listing.Order.OLDEST,
                ),
            }
            sent: list[tuple[str, Any]] = []
            raw.add_query_logger(lambda logged: sent.append((logged.query, logged.args)))
            for name, (filters, cursor, order) in cases.items():
                timings = []
                for index in range(LISTING_SAMPLES + 5):
                    del sent[:]
                    start = time.perf_counter()
                    page = await manager.list_users(
                        filters, cursor, listing.DEFAULT_PAGE_SIZE, order
                    )
                    if index >= 5:  # the first ones warm caches and the statement cache
                        timings.append(time.perf_counter() - start)
                plans = []
                for query, params in list(sent):
                    plan = await raw.fetch("EXPLAIN (ANALYZE, COSTS off) " + query, *params)
                    explain = [row[0] for row in plan]
                    plans.append({"query": " ".join(query.split()), "explain": explain})
                found[name] = {
                    "p50_ms": round(statistics.median(timings) * 1000, 2),
                    "items": len(page.items),
                    "total": page.total,
                    "plans": plans,
                }
    return found


async def lookup_reference(highest: int) -> dict[str, Any]:
    import reference_app as ref
    from sqlalchemy import event

    sent: list[tuple[str, Any]] = []

    @event.listens_for(ref.engine.sync_engine, "before_cursor_execute")
    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, tuple(parameters or ())))

    async with ref.async_session_maker() as session:
        user_db = ref.SQLAlchemyUserDatabase(session, ref.User)
        connection = await session.connection()
        raw = (await connection.get_raw_connection()).driver_connection
        result = await measure(user_db.get_by_email, sent, raw, highest)
    await ref.engine.dispose()
    return result


def main(argv: list[str]) -> None:
    command, url, *rest = argv
    if command == "create":
        asyncio.run(create(url))
    elif command == "drop":
        asyncio.run(drop(url))
    elif command == "seed":
        print(json.dumps(asyncio.run(seed(url, int(rest[0])))))
    elif command == "listing":
        print(json.dumps(asyncio.run(listing_ours(int(rest[0])))))
    elif command == "lookup":
        app, highest = rest[0], int(rest[1])
        run = lookup_ours if app == "ours" else lookup_reference
        print(json.dumps(asyncio.run(run(highest))))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
