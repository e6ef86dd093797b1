"""A normal login during a registration flood: the app of the current template against, as the
peer measured in the same run, the same app generated from template 0.1.0 (one FIFO queue of
hashes, unbounded).

The flood comes from many addresses at once (each request claims its own X-Forwarded-For, which
the current app believes because FORWARDED_ALLOW_IPS names 127.0.0.1, and 0.1.0 because uvicorn
trusts 127.0.0.1), so the per-address register limit does not stop it: the bounded queue where
logins go first does. One client meanwhile logs in, one login after another, and its latencies
are what this prints.

    python benchmarks/flood.py [--seconds 15] [--flooders 32]

Needs usergen and the generated app's dependencies in the running Python (the test extras).
"""

import argparse
import asyncio
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import free_port  # noqa: E402

from usergen import versions  # noqa: E402
from usergen.render import Renderer  # noqa: E402

PASSWORD = "correct horse battery staple"


def generate(version: str, dest: Path) -> Path:
    """The app ``flood`` as usergen writes it from template ``version``."""
    with versions.template_of(version) as root:
        files, modes = Renderer(root).render(
            {"project_name": "flood", "package_name": "flood"}, "flood"
        )
    for rel, content in files.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(modes[rel])
    return dest


def start(project: Path, database: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(project),
        "DATABASE_URL": f"sqlite:///{database}",
        "SECRET": "flood-benchmark-secret-that-is-long-enough",
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
        "EMAIL_BACKEND": "file",
        "EMAIL_FILE_PATH": str(database.parent / "mail"),
        "LOGIN_RATE_LIMIT_PER_ADDRESS": "1000000/minute",
        "LOGIN_RATE_LIMIT_PER_EMAIL": "1000000/minute",
    }
    command = [sys.executable, "-m", "flood", "serve", "--port", str(port)]
    process = subprocess.Popen(
        command, env=env, cwd=database.parent, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/openapi.json", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the app did not start")


async def measure(url: str, seconds: float, flooders: int) -> tuple[list[float], Counter[int]]:
    statuses: Counter[int] = Counter()
    addresses = itertools.count(1)
    limits = httpx.Limits(max_connections=flooders + 2)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        body = {"email": "normal@example.com", "password": PASSWORD}
        assert (await client.post("/auth/register", json=body)).status_code == 201
        stop = time.monotonic() + seconds

        async def flood() -> None:
            while time.monotonic() < stop:
                n = next(addresses)
                response = await client.post(
                    "/auth/register",
                    json={"email": f"flood{n}@example.com", "password": PASSWORD},
                    headers={"X-Forwarded-For": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"},
                )
                statuses[response.status_code] += 1

        async def log_in() -> list[float]:
            latencies = []
            await asyncio.sleep(1)  # let the flood build up
            while time.monotonic() < stop:
                started = time.perf_counter()
                response = await client.post(
                    "/auth/jwt/login",
                    data={"username": "normal@example.com", "password": PASSWORD},
                    headers={"X-Forwarded-For": "192.0.2.1"},
                )
                if response.status_code == 200:  # the latency of logins that worked
                    latencies.append(time.perf_counter() - started)
                statuses[-response.status_code] += 1  # negative: the login's own statuses
                await asyncio.sleep(0.2)
            return latencies

        results = await asyncio.gather(log_in(), *(flood() for _ in range(flooders)))
    return results[0], statuses


def summary(name: str, latencies: list[float], statuses: Counter[int]) -> float:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    logins = {-code: count for code, count in statuses.items() if code < 0}
    flood = {code: count for code, count in statuses.items() if code > 0}
    print(
        f"{name:>10}: login p50 {p50 * 1000:7.0f} ms  p95 {p95 * 1000:7.0f} ms  "
        f"max {ordered[-1] * 1000:7.0f} ms  logins {logins}  flood {flood}"
    )
    return p50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--flooders", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        medians = {}
        for version in (versions.shipped()[0], versions.current()):
            project = generate(version, work / version / "flood")
            database = work / version / "app.db"
            subprocess.run(
                [sys.executable, "-m", "alembic", "upgrade", "head"],
                cwd=project,
                env={**os.environ, "DATABASE_URL": f"sqlite:///{database}"},
                check=True,
                capture_output=True,
            )
            process, url = start(project, database)
            try:
                latencies, statuses = asyncio.run(measure(url, args.seconds, args.flooders))
            finally:
                process.terminate()
                process.wait(timeout=10)
            medians[version] = summary(f"template {version}", latencies, statuses)
    old, new = medians
    print(f"login p50, template {old} / {new}: {medians[old] / medians[new]:.1f}x")


if __name__ == "__main__":
    main()
