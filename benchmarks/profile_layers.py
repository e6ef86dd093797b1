"""Where GET /users/me spends its CPU, in-process, for each data layer.

    python benchmarks/profile_layers.py PROJECT DATABASE_URL [--requests N] [--profile]

PROJECT is a generated project (already migrated on DATABASE_URL; run this with a Python that
has its test dependencies: pip install -e "PROJECT[test]"). The app is called directly through ASGI,
one request after the other, so the figure is the app's own CPU per request, without a server
or a load generator sharing the cores. With --profile, cProfile's top functions by own time
follow. Prints JSON (and the profile) to standard output.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

import httpx

PASSWORD = "correct horse battery staple"


def build_app(project: Path, url: str) -> Any:
    sys.path.insert(0, str(project))
    os.environ.update(
        {
            "DATABASE_URL": url,
            "SECRET": "profile-secret-that-is-long-enough-to-sign-tokens",
            "COOKIE_SECURE": "false",
        }
    )
    main = importlib.import_module(f"{project.name}.main")
    return main.create_app()


async def token_for(app: Any) -> str:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        body = {"email": "me@example.com", "password": PASSWORD}
        await client.post("/auth/register", json=body)
        login = await client.post(
            "/auth/jwt/login", data={"username": body["email"], "password": PASSWORD}
        )
        login.raise_for_status()
        token: str = login.json()["access_token"]
        return token


async def get(app: Any, path: str, token: str) -> int:
    """One request straight through ASGI; returns the status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def measure(app: Any, requests: int, profile: bool) -> dict[str, Any]:
    async with app.router.lifespan_context(app):
        token = await token_for(app)
        for _ in range(200):  # warm-up: pools, caches, compiled statements
            assert await get(app, "/users/me", token) == 200
        profiler = cProfile.Profile() if profile else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        statuses = [await get(app, "/users/me", token) for _ in range(requests)]
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if set(statuses) != {200}:
        raise SystemExit(f"GET /users/me answered {sorted(set(statuses))}, not only 200")
    result: dict[str, Any] = {
        "cpu_us_per_request": round(1e6 * cpu / requests, 1),
        "wall_us_per_request": round(1e6 * wall / requests, 1),
    }
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        result["profile"] = out.getvalue()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("project", type=Path)
    parser.add_argument("url")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    app = build_app(args.project.resolve(), args.url)
    result = asyncio.run(measure(app, args.requests, args.profile))
    profile = result.pop("profile", None)
    print(json.dumps(result))
    if profile:
        print(profile)


if __name__ == "__main__":
    main()
