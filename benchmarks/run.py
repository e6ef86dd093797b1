"""Benchmark the generated app against FastAPI Users, side by side, in one run.

    python benchmarks/run.py              the full run (about 7 minutes); writes RESULTS.md
    python benchmarks/run.py --help       options (shorter loads, fewer databases…)

Standard library only: it makes its own virtualenvs under benchmarks/.venvs/ (one for the
generated app and usergen, one for FastAPI Users), generates an app with `usergen new` into a
temporary folder, creates uniquely named databases (dropped at the end), starts both apps with
uvicorn (1 worker, uvloop + httptools, the same versions) and loads them with wrk on 127.0.0.1.
Needs wrk and hyperfine on PATH, PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and
MariaDB on 127.0.0.1:3306 (root, no password); see README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENVS = HERE / ".venvs"
PASSWORD = "correct horse battery staple"
SECRET = "benchmark-secret-that-is-long-enough-to-sign-tokens"
PG_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/{}"
MYSQL_SERVER = "mysql+aiomysql://root@127.0.0.1:3306/{}"
BACKENDS = ("postgresql", "sqlite", "mysql")
BACKEND_TITLES = {"postgresql": "PostgreSQL", "sqlite": "SQLite", "mysql": "MariaDB"}
# The package of the app generated with `--data-layer sqlalchemy` (named after its folder).
SQLALCHEMY_PACKAGE = "benchsa"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    kwargs.setdefault("check", True)
    kwargs.setdefault("text", True)
    kwargs.setdefault("capture_output", True)
    try:
        return subprocess.run(cmd, **kwargs)
    except subprocess.CalledProcessError as error:
        sys.stderr.write(f"command failed: {' '.join(cmd)}\n{error.stdout}\n{error.stderr}\n")
        raise


# --- virtualenvs ---------------------------------------------------------------------------


@dataclass
class Venv:
    path: Path

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    def bin(self, name: str) -> str:
        return str(self.path / "bin" / name)

    def pip(self, *args: str) -> None:
        run([self.python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *args])

    def versions(self, *names: str) -> dict[str, str]:
        code = (
            "import importlib.metadata as m, json, sys\n"
            "out = {}\n"
            "for n in sys.argv[1:]:\n"
            "    try: out[n] = m.version(n)\n"
            "    except m.PackageNotFoundError: pass\n"
            "print(json.dumps(out))"
        )
        return json.loads(run([self.python, "-c", code, *names]).stdout)


def make_venv(name: str) -> Venv:
    venv = Venv(VENVS / name)
    if not (venv.path / "bin" / "python").exists():
        log(f"creating virtualenv {venv.path}")
        run([sys.executable, "-m", "venv", str(venv.path)])
    return venv


def app_requirements(project: Path) -> list[str]:
    """The generated project's dependencies with the drivers of all three databases."""
    data = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    requirements = list(data["dependencies"])
    for extra in ("postgresql", "mysql", "sqlite"):
        requirements += data.get("optional-dependencies", {}).get(extra, [])
    return requirements


STACK = ("uvicorn", "uvloop", "httptools", "fastapi", "starlette", "pydantic")


# --- databases and servers -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(
    name: str, venv: Venv, app: str, cwd: Path, env: dict[str, str], logs: Path
) -> Server:
    port = free_port()
    log_path = logs / f"{name}.log"
    cmd = [
        venv.bin("uvicorn"),
        app,
        "--host=127.0.0.1",
        f"--port={port}",
        "--workers=1",
        "--loop=uvloop",
        "--http=httptools",
        "--no-access-log",
        "--log-level=warning",
    ]
    if app.endswith(":create_app"):
        cmd.append("--factory")
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            cmd, cwd=cwd, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
    server = Server(name, process, port, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited:\n{log_path.read_text()}")
        try:
            urllib.request.urlopen(f"{server.base}/openapi.json", timeout=2).read()
            return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{name} did not start:\n{log_path.read_text()}")


def http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def register(server: Server, email: str) -> None:
    body = json.dumps({"email": email, "password": PASSWORD}).encode()
    status, data = http(
        "POST", f"{server.base}/auth/register", body, {"Content-Type": "application/json"}
    )
    if status != 201:
        raise RuntimeError(f"{server.name}: register {email} → {status} {data!r}")


def login_form(email: str) -> str:
    return urllib.parse.urlencode({"username": email, "password": PASSWORD})


def login(server: Server, email: str) -> str:
    status, data = http(
        "POST",
        f"{server.base}/auth/jwt/login",
        login_form(email).encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    if status != 200:
        raise RuntimeError(f"{server.name}: login {email} → {status} {data!r}")
    token: str = json.loads(data)["access_token"]
    return token


# --- wrk -----------------------------------------------------------------------------------


@dataclass
class Load:
    """What one wrk run measured."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def wrk_command(url: str, connections: int, seconds: float, headers: dict[str, str]) -> list[str]:
    # wrk takes whole seconds.
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
    for key, value in headers.items():
        cmd += ["-H", f"{key}: {value}"]
    return [*cmd, "-s", str(HERE / "wrk.lua"), url]


def parse_wrk(output: str) -> Load:
    match = re.search(r"^WRKJSON (.*)$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no result from wrk:\n{output}")
    data = json.loads(match.group(1))
    seconds = data["duration_us"] / 1e6
    errors = data["status_errors"] + data["socket_errors"] + data["timeouts"]
    return Load(
        rps=data["requests"] / seconds,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        requests=data["requests"],
        errors=errors,
    )


def wrk_env(mode: str, **values: str) -> dict[str, str]:
    return {**os.environ, "WRK_MODE": mode, **values}


def wrk(
    url: str,
    connections: int,
    seconds: float,
    headers: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> Load:
    cmd = wrk_command(url, connections, seconds, headers or {})
    return parse_wrk(run(cmd, env=env or wrk_env("get")).stdout)


def median_load(loads: list[Load]) -> Load:
    """Each figure's median over several runs."""
    return Load(
        rps=statistics.median(load.rps for load in loads),
        p50_ms=statistics.median(load.p50_ms for load in loads),
        p99_ms=statistics.median(load.p99_ms for load in loads),
        requests=sum(load.requests for load in loads),
        errors=sum(load.errors for load in loads),
    )


def under_login_load(
    server: Server, headers: dict[str, str], login_email: str, args: argparse.Namespace
) -> tuple[Load, Load]:
    """GET /users/me (32 connections) while 4 clients log in continuously.

    The login load starts first and ends last, so the whole measured window is under load.
    """
    login_env = wrk_env("login", WRK_BODY=login_form(login_email))
    login_seconds = args.warmup + args.duration + 1
    login_cmd = wrk_command(f"{server.base}/auth/jwt/login", 4, login_seconds, {})
    logins = subprocess.Popen(login_cmd, env=login_env, stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(args.warmup)
        me = wrk(f"{server.base}/users/me", 32, args.duration, headers)
        out, _ = logins.communicate(timeout=login_seconds + 30)
    finally:
        if logins.poll() is None:
            logins.kill()
            logins.wait()
    return me, parse_wrk(out)


def register_p50(server: Server, seconds: float) -> Load:
    """Registrations one at a time (new email each), for `seconds`."""
    env = wrk_env("register", WRK_PREFIX=f"reg-{uuid.uuid4().hex[:10]}")
    return wrk(server.base, 1, seconds, env=env)


# --- the run -------------------------------------------------------------------------------


@dataclass
class Results:
    started: dt.datetime
    machine: dict[str, str] = field(default_factory=dict)
    versions: dict[str, dict[str, str]] = field(default_factory=dict)
    # (backend, app, measure) → Load; app "ours" | "sqlalchemy" | "reference" | "noop"
    loads: dict[tuple[str, str, str], Load] = field(default_factory=dict)
    cli: dict[str, str] = field(default_factory=dict)  # command → "mean ± sd s" or "n/a (…)"
    cli_seconds: dict[str, float] = field(default_factory=dict)
    scale: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    seeding: dict[tuple[str, int], float] = field(default_factory=dict)
    # user count → case → {p50_ms, items, total, plans}: ours' GET /users (dbtasks listing)
    listing: dict[int, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0


def machine_info() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def tool_versions() -> dict[str, str]:
    versions = {}
    for name, cmd in {
        "wrk": ["wrk", "--version"],
        "hyperfine": ["hyperfine", "--version"],
        "PostgreSQL": ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version"],
        "MariaDB": ["mysql", "-h", "127.0.0.1", "-u", "root", "-N", "-e", "SELECT VERSION()"],
    }.items():
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            text = (result.stdout or result.stderr).strip().splitlines()
            versions[name] = text[0] if text else "?"
        except (OSError, subprocess.TimeoutExpired):
            versions[name] = "not found"
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        commit = run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]).stdout.strip()
        dirty = run(["git", "-C", str(REPO), "status", "--porcelain"]).stdout.strip()
        versions["usergen commit"] = commit + (" (+ uncommitted changes)" if dirty else "")
    return versions


def hyperfine(command: str, prepare: str, runs: int, json_path: Path) -> tuple[float, float]:
    run(
        [
            "hyperfine",
            "--style=none",
            f"--runs={runs}",
            "--warmup=1",
            f"--prepare={prepare}",
            f"--export-json={json_path}",
            command,
        ]
    )
    result = json.loads(json_path.read_text())["results"][0]
    return result["mean"], result["stddev"]


def measure_cli(ours: Venv, work: Path, results: Results, runs: int) -> None:
    usergen = ours.bin("usergen")
    target = work / "cli-new"
    mean, sd = hyperfine(
        f"{usergen} new {target} --defaults",
        f"rm -rf {target}",
        runs,
        work / "hf-new.json",
    )
    results.cli["usergen new"] = f"{mean:.2f} ± {sd:.2f} s"
    results.cli_seconds["usergen new"] = mean
    help_text = run([usergen, "--help"]).stdout
    if "add-field" not in help_text:
        results.cli["usergen add-field"] = "n/a (no add-field command in this build)"
        return
    pristine = work / "cli-pristine"
    shutil.rmtree(pristine, ignore_errors=True)
    run([usergen, "new", str(pristine), "--defaults"])
    time_in_project(ours, work, results, runs, pristine, "add-field", "add-field nickname str")
    if re.search(r"^\s+fields\s", help_text, re.MULTILINE):
        # `usergen fields` lists a project's fields; three of them here.
        listed = work / "cli-listed"
        shutil.rmtree(listed, ignore_errors=True)
        shutil.copytree(pristine, listed)
        for spec in THREE_FIELDS:
            run([usergen, "add-field", *spec], cwd=listed)
        time_in_project(ours, work, results, runs, listed, "fields", "fields")
    else:
        results.cli["usergen fields"] = "n/a (no fields command in this build)"
    if "update" not in help_text:
        results.cli["usergen update"] = "n/a (no update command in this build)"
        return
    # A project of the oldest shipped template version with three fields, as `update` meets it.
    oldest = work / "cli-oldest"
    shutil.rmtree(oldest, ignore_errors=True)
    run([ours.python, "-c", RENDER_OLDEST, str(oldest)])
    for spec in THREE_FIELDS:
        run([usergen, "add-field", *spec], cwd=oldest)
    time_in_project(ours, work, results, runs, oldest, "update", "update")


THREE_FIELDS = (
    ["age", "int", "--default", "18"],
    ["nickname", "str", "--unique"],
    ["last_seen", "datetime", "--index"],
)

# Renders a new project with the oldest template version the installed usergen ships.
RENDER_OLDEST = """
import sys
from pathlib import Path
from usergen import versions
from usergen.render import Renderer

dest = Path(sys.argv[1])
with versions.template_of(versions.shipped()[0]) as root:
    files, modes = Renderer(root).render({"project_name": "shop", "package_name": "shop"}, "shop")
for rel, content in files.items():
    (dest / rel).parent.mkdir(parents=True, exist_ok=True)
    (dest / rel).write_bytes(content)
    (dest / rel).chmod(modes[rel])
"""


def time_in_project(
    ours: Venv, work: Path, results: Results, runs: int, pristine: Path, name: str, args: str
) -> None:
    """hyperfine of `usergen ARGS` in a fresh copy of ``pristine`` each run."""
    label = f"usergen {name}"
    target = work / f"cli-{name}"
    prepare = f"rm -rf {target} && cp -r {pristine} {target}"
    command = f"cd {target} && {ours.bin('usergen')} {args}"
    trial = subprocess.run(["sh", "-c", f"{prepare} && {command}"], capture_output=True, text=True)
    if trial.returncode != 0:
        first = (trial.stderr or trial.stdout).strip().splitlines()[:1]
        results.cli[label] = f"n/a (`{args}` failed: {first})"
        return
    mean, sd = hyperfine(command, prepare, runs, work / f"hf-{name}.json")
    results.cli[label] = f"{mean:.2f} ± {sd:.2f} s"
    results.cli_seconds[label] = mean


def bench_backend(
    backend: str,
    ours: Venv,
    ref: Venv,
    project: Path,
    package: str,
    work: Path,
    results: Results,
    args: argparse.Namespace,
    cleanup: list[tuple[Venv, str]],
    sqlalchemy_project: Path,
) -> None:
    tag = uuid.uuid4().hex[:8]
    if backend == "sqlite":
        ours_url = f"sqlite:///{work / f'ours-{tag}.db'}"
        sa_url = f"sqlite:///{work / f'sa-{tag}.db'}"
        ref_url = f"sqlite+aiosqlite:///{work / f'ref-{tag}.db'}"
    else:
        server = PG_SERVER if backend == "postgresql" else MYSQL_SERVER
        ours_url = server.format(f"usergen_bench_{tag}_ours")
        sa_url = server.format(f"usergen_bench_{tag}_sa")
        ref_url = server.format(f"usergen_bench_{tag}_ref")
        for url in (ours_url, sa_url, ref_url):
            run([ours.python, str(HERE / "dbtasks.py"), "create", url])
            cleanup.append((ours, url))
    title = BACKEND_TITLES[backend]
    log(f"{title}: migrating the generated apps' databases")
    ours_env = {
        "DATABASE_URL": ours_url,
        "SECRET": SECRET,
        "COOKIE_SECURE": "false",
        # The reference's tokens last an hour; ours would expire after 15 minutes (they are
        # refreshed), within a long run, and the load would then measure 401s.
        "ACCESS_TOKEN_LIFETIME_SECONDS": "3600",
        # The reference has no rate limits; ours would (rightly) refuse 4 clients logging in
        # as fast as they can, and the login load would measure refusals.
        "LOGIN_RATE_LIMIT_PER_ADDRESS": "1000000/minute",
        "LOGIN_RATE_LIMIT_PER_EMAIL": "1000000/minute",
        "REGISTER_RATE_LIMIT_PER_ADDRESS": "1000000/minute",
        "BENCH_PACKAGE": package,
        "PYTHONPATH": str(project),
    }
    # The same app generated with `--data-layer sqlalchemy`.
    sa_env = {
        **ours_env,
        "DATABASE_URL": sa_url,
        "BENCH_PACKAGE": SQLALCHEMY_PACKAGE,
        "PYTHONPATH": str(sqlalchemy_project),
    }
    for folder, env in ((project, ours_env), (sqlalchemy_project, sa_env)):
        run(
            [ours.python, "-m", "alembic", "upgrade", "head"],
            cwd=folder,
            env={**os.environ, **env},
        )
    ref_env = {"DATABASE_URL": ref_url, "SECRET": SECRET, "PYTHONPATH": str(HERE)}
    servers: list[Server] = []
    try:
        servers.append(start_server("ours", ours, "noop_app:create_app", project, ours_env, work))
        app = "noop_app:create_app"
        servers.append(start_server("sqlalchemy", ours, app, sqlalchemy_project, sa_env, work))
        servers.append(start_server("reference", ref, "reference_app:app", HERE, ref_env, work))
        headers = {}
        for server in servers:
            register(server, "me@example.com")
            register(server, "loader@example.com")
            headers[server.name] = {"Authorization": f"Bearer {login(server, 'me@example.com')}"}
        # The apps take turns, round after round, and each figure is the median of its rounds:
        # a machine that gets busier or quieter during the run then shifts both apps alike.
        targets = [
            (server.name, "me", f"{server.base}/users/me", headers[server.name])
            for server in servers
        ]
        if backend == "postgresql" or args.ceiling_everywhere:
            targets.append(("noop", "me", f"{servers[0].base}/noop", {}))
        samples: dict[tuple[str, str], list[Load]] = {}
        for round_ in range(args.rounds):
            for name, what, url, target_headers in targets:
                log(
                    f"{title}: round {round_ + 1}/{args.rounds}: {name} GET {url.rsplit('/', 1)[1]}"
                )
                if round_ == 0:
                    wrk(url, 32, args.warmup, target_headers)
                samples.setdefault((name, what), []).append(
                    wrk(url, 32, args.duration, target_headers)
                )
            for server in servers:
                step = f"round {round_ + 1}/{args.rounds}: {server.name}"
                log(f"{title}: {step} GET /users/me while 4 clients log in")
                me, logins = under_login_load(
                    server, headers[server.name], "loader@example.com", args
                )
                samples.setdefault((server.name, "me_loaded"), []).append(me)
                samples.setdefault((server.name, "logins"), []).append(logins)
        for (name, what), loads in samples.items():
            results.loads[backend, name, what] = median_load(loads)
        if backend == "postgresql" and not args.no_scale:
            bench_scale(servers, ours, ref, ours_url, ref_url, ours_env, ref_env, results, args)
    finally:
        for server in servers:
            server.stop()


def bench_scale(
    servers: list[Server],
    ours: Venv,
    ref: Venv,
    ours_url: str,
    ref_url: str,
    ours_env: dict[str, str],
    ref_env: dict[str, str],
    results: Results,
    args: argparse.Namespace,
) -> None:
    """Register p50, email-lookup p50 and its EXPLAIN, at 1,000 and at 1,000,000 users."""
    by_name = {server.name: server for server in servers}
    setups = {
        "ours": (ours, ours_url, ours_env, by_name["ours"]),
        "reference": (ref, ref_url, ref_env, by_name["reference"]),
    }
    dbtasks = str(HERE / "dbtasks.py")
    for total in (1000, args.million):
        for name, (venv, url, env, server) in setups.items():
            log(f"scale: {name}, seeding to {total:,} users")
            seeded = json.loads(run([venv.python, dbtasks, "seed", url, str(total)]).stdout)
            results.seeding[name, total] = seeded["seconds"]
            log(f"scale: {name} at {total:,} users: register, lookup, EXPLAIN")
            registered = register_p50(server, args.register_seconds)
            lookup = json.loads(
                run(
                    [venv.python, dbtasks, "lookup", url, name, str(seeded["seeded"])],
                    cwd=HERE,
                    env={**os.environ, **env},
                ).stdout
            )
            results.scale[name, total] = {"register": registered, **lookup}
            if name == "ours":
                log(f"scale: ours at {total:,} users: GET /users pages, EXPLAIN")
                results.listing[total] = json.loads(
                    run(
                        [venv.python, dbtasks, "listing", url, str(seeded["seeded"])],
                        cwd=HERE,
                        env={**os.environ, **env},
                    ).stdout
                )


def ratio(a: float | None, b: float | None) -> str:
    return "" if a is None or b is None or b == 0 else f"{a / b:.2f}×"


def pct(a: float | None, b: float | None) -> str:
    return "" if a is None or b is None or b == 0 else f"{100 * a / b:.0f} %"


def table(results: Results) -> str:
    rows = [
        "| measure | ours | ours, sqlalchemy layer | reference | ours / reference | "
        "sqlalchemy layer / reference | ours / ceiling |",
        "|---|---|---|---|---|---|---|",
    ]

    def get(backend: str, app: str, what: str) -> Load | None:
        return results.loads.get((backend, app, what))

    def fmt(load: Load | None, attr: str) -> str:
        if load is None:
            return "—"
        value = getattr(load, attr)
        text = f"{value:,.0f}" if attr == "rps" else f"{value:.1f} ms"
        return text + (f" ({load.errors} errors)" if load.errors and attr == "rps" else "")

    ceiling = get("postgresql", "noop", "me")
    for backend in BACKENDS:
        title = BACKEND_TITLES[backend]
        if not any(key[0] == backend for key in results.loads):
            continue
        own_ceiling = get(backend, "noop", "me") or ceiling
        for what, label in (("me", "GET /users/me"), ("me_loaded", "GET /users/me, 4 logging in")):
            ours, ref = get(backend, "ours", what), get(backend, "reference", what)
            sa = get(backend, "sqlalchemy", what)
            rows.append(
                f"| {title}: {label}, req/s | {fmt(ours, 'rps')} | {fmt(sa, 'rps')} | "
                f"{fmt(ref, 'rps')} | {ratio(ours and ours.rps, ref and ref.rps)} | "
                f"{ratio(sa and sa.rps, ref and ref.rps)} | "
                f"{pct(ours and ours.rps, own_ceiling and own_ceiling.rps)} |"
            )
            for attr, name in (("p50_ms", "p50"), ("p99_ms", "p99")):
                rows.append(
                    f"| {title}: {label}, {name} | {fmt(ours, attr)} | {fmt(sa, attr)} | "
                    f"{fmt(ref, attr)} | "
                    f"{ratio(getattr(ours, attr, None), getattr(ref, attr, None))} | "
                    f"{ratio(getattr(sa, attr, None), getattr(ref, attr, None))} | |"
                )
        ours, ref = get(backend, "ours", "logins"), get(backend, "reference", "logins")
        sa = get(backend, "sqlalchemy", "logins")
        rows.append(
            f"| {title}: logins/s (4 clients, during the above) | {fmt(ours, 'rps')} | "
            f"{fmt(sa, 'rps')} | {fmt(ref, 'rps')} | {ratio(ours and ours.rps, ref and ref.rps)} | "
            f"{ratio(sa and sa.rps, ref and ref.rps)} | |"
        )
        noop = get(backend, "noop", "me")
        if noop:
            rows.append(
                f"| {title}: GET /noop on the generated app (ceiling), req/s | "
                f"{fmt(noop, 'rps')} | | | | | |"
            )
            latency = f"{noop.p50_ms:.1f} / {noop.p99_ms:.1f} ms"
            rows.append(f"| {title}: GET /noop, p50 / p99 | {latency} | | | | | |")
    for command, value in results.cli.items():
        rows.append(f"| `{command}` wall time (hyperfine) | {value} | | | | | |")
    for total in sorted({key[1] for key in results.scale}):
        ours, ref = results.scale.get(("ours", total)), results.scale.get(("reference", total))
        reg_o = ours and ours["register"].p50_ms
        reg_r = ref and ref["register"].p50_ms
        rows.append(
            f"| {total:,} users: register p50 | {reg_o:.1f} ms | | {reg_r:.1f} ms | "
            f"{ratio(reg_o, reg_r)} | | |"
        )
        look_o = ours and ours["p50_ms"]
        look_r = ref and ref["p50_ms"]
        rows.append(
            f"| {total:,} users: email lookup p50 | {look_o:.2f} ms | | {look_r:.2f} ms | "
            f"{ratio(look_o, look_r)} | | |"
        )
        rows.append(
            f"| {total:,} users: EXPLAIN of the email lookup | {plan_summary(ours)} | | "
            f"{plan_summary(ref)} | | | |"
        )
    return "\n".join(rows)


def plan_summary(found: dict[str, Any] | None) -> str:
    if not found:
        return "—"
    nodes = [line.strip().lstrip("-> ").split(" (actual")[0] for line in found["explain"]]
    scans = [node for node in nodes if "Scan" in node]
    return "; ".join(scans) or nodes[0]


@dataclass
class Target:
    text: str
    met: bool | None
    detail: str


def targets(results: Results) -> list[Target]:
    out: list[Target] = []
    sa_sqlite = results.loads.get(("sqlite", "sqlalchemy", "me"))
    ref_sqlite = results.loads.get(("sqlite", "reference", "me"))
    if sa_sqlite and ref_sqlite:
        out.append(
            Target(
                "SQLite, sqlalchemy layer: /users/me ≥ 3× the reference",
                sa_sqlite.rps >= 3 * ref_sqlite.rps,
                f"{sa_sqlite.rps / ref_sqlite.rps:.2f}×",
            )
        )

    def load(app: str, what: str) -> Load | None:
        return results.loads.get(("postgresql", app, what))

    ours, ref, noop = load("ours", "me"), load("reference", "me"), load("noop", "me")
    if ours and ref and noop:
        out.append(
            Target(
                "/users/me ≥ 5× the reference",
                ours.rps >= 5 * ref.rps,
                f"{ours.rps / ref.rps:.2f}×",
            )
        )
        out.append(
            Target(
                "/users/me ≥ 40 % of the no-op route",
                ours.rps >= 0.4 * noop.rps,
                f"{100 * ours.rps / noop.rps:.0f} %",
            )
        )
    ours_l, ref_l = load("ours", "me_loaded"), load("reference", "me_loaded")
    ours_in, ref_in = load("ours", "logins"), load("reference", "logins")
    if ours_l and ref_l and ours_in and ref_in:
        out.append(
            Target("under login load: p99 < 35 ms", ours_l.p99_ms < 35, f"{ours_l.p99_ms:.1f} ms")
        )
        out.append(
            Target(
                "under login load: ≥ 30× the reference's req/s",
                ours_l.rps >= 30 * ref_l.rps,
                f"{ours_l.rps / ref_l.rps:.1f}×",
            )
        )
        out.append(
            Target(
                "logins/s ≥ 75 % of the reference's",
                ours_in.rps >= 0.75 * ref_in.rps,
                f"{100 * ours_in.rps / ref_in.rps:.0f} %",
            )
        )
    for command, limit in (
        ("usergen new", 0.5), ("usergen add-field", 0.5), ("usergen fields", 0.3),
        ("usergen update", 2.0),
    ):  # fmt: skip
        seconds = results.cli_seconds.get(command)
        out.append(
            Target(
                f"`{command}` < {limit} s",
                None if seconds is None else seconds < limit,
                results.cli.get(command, "not measured"),
            )
        )
    small = results.scale.get(("ours", 1000))
    big = [v for (app, total), v in results.scale.items() if app == "ours" and total > 1000]
    if small and big:
        uses_index = all("Index" in plan_summary(v) for v in (small, *big))
        out.append(Target("the email lookup uses an index", uses_index, plan_summary(big[0])))
        growth = big[0]["register"].p50_ms / small["register"].p50_ms
        out.append(Target("register p50 at 1M ≤ 1.2× at 1k", growth <= 1.2, f"{growth:.2f}×"))
    return out


def render_results(results: Results, args: argparse.Namespace) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Run on {results.started:%Y-%m-%d %H:%M} UTC by `python benchmarks/run.py"
        + (f" {' '.join(args.argv)}" if args.argv else "")
        + f"` in {results.wall_seconds / 60:.1f} minutes.",
        "",
        f"Machine: {results.machine['cores']} cores, {results.machine['cpu']}, "
        f"{results.machine['memory']} RAM; {results.machine['os']}; Python "
        f"{results.machine['python']}.",
        "",
        "**Noisy numbers.** This is a small shared machine (other test suites may run at the "
        "same time) and the load generator shares the cores with the server. Each figure is the "
        f"median of {args.rounds} runs of {args.duration:g} s (after a {args.warmup:g} s "
        "warm-up), the apps taking turns round after round, so a machine that gets busier or "
        "quieter shifts both alike. Compare the two apps within one run, through the ratios; "
        "absolute numbers moved by a third and more between runs here. Where the time goes: "
        "PROFILE.md.",
        "",
        "Both apps: one uvicorn worker with uvloop and httptools, access log off, the same "
        "database server, wrk with one thread on 127.0.0.1 (32 connections for /users/me; 4 for "
        "the login load, which runs during the whole /users/me measurement). Ours is the app "
        "`usergen new --defaults` generates, migrated with Alembic, plus a /noop route in the "
        "benchmarked copy only (the framework ceiling). The reference is "
        "benchmarks/reference_app.py: FastAPI Users' documented SQLAlchemy setup (JWT bearer, "
        "default PasswordHelper: Argon2 with pwdlib's defaults, m=64 MiB, t=3, p=4). Ours "
        "hashes with Argon2id at OWASP's minimum (m=19 MiB, t=2, p=1) in worker threads, at "
        "most `hashing_concurrency` (default 1) at once. Ours runs with its default settings "
        "except the login rate limits, lifted so the login load measures logins, not 429s "
        "(the reference has no rate limits).",
        "",
        table(results),
        "",
        "## Targets (PostgreSQL, unless named)",
        "",
        "| target | result | met |",
        "|---|---|---|",
    ]
    for target in targets(results):
        met = "n/a" if target.met is None else ("yes" if target.met else "**no**")
        lines.append(f"| {target.text} | {target.detail} | {met} |")
    if results.scale:
        lines += ["", "## The email lookup", ""]
        for (name, total), found in sorted(results.scale.items()):
            seeded = results.seeding.get((name, total))
            lines += [
                f"{name}, {total:,} users (seeded in {seeded:.1f} s):"
                if seeded is not None
                else f"{name}, {total:,} users:",
                "",
                f"    {found['query']}",
                *(f"    {line}" for line in found["explain"]),
                "",
            ]
    for total, cases in sorted(results.listing.items()):
        lines += listing_lines(total, cases)
    lines += ["## Versions", ""]
    for name, versions in results.versions.items():
        lines.append(f"- {name}: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())))
    if results.notes:
        lines += ["", "## Notes", "", *(f"- {note}" for note in results.notes)]
    return "\n".join(lines) + "\n"


def listing_lines(total: int, cases: dict[str, Any]) -> list[str]:
    """The section on ours' admin user list at ``total`` users: each case's p50 through the
    app's code (the page query, plus the count on a first page), then each query's plan."""
    lines = [
        f"## The admin user list (GET /users), ours, {total:,} users",
        "",
        "| case | p50 | users on the page | total |",
        "|---|---|---|---|",
    ]
    for name, found in cases.items():
        p50, items, matched = found["p50_ms"], found["items"], found["total"]
        lines.append(f"| {name} | {p50:.2f} ms | {items} | {matched:,} |")
    lines.append("")
    for name, found in cases.items():
        lines += [f"{name}:", ""]
        for plan in found["plans"]:
            lines += [f"    {plan['query']}", *(f"    {line}" for line in plan["explain"]), ""]
    return lines


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=4, help="seconds per wrk measurement")
    parser.add_argument(
        "--rounds", type=int, default=3, help="measurements per figure (the median is reported)"
    )
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up before each")
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="comma-separated, from postgresql,sqlite,mysql (default: all)",
    )
    parser.add_argument("--million", type=int, default=1_000_000, help="the large user count")
    parser.add_argument("--register-seconds", type=float, default=5, help="per register p50")
    parser.add_argument("--no-scale", action="store_true", help="skip the 1k/1M-user part")
    parser.add_argument("--no-cli", action="store_true", help="skip the hyperfine part")
    parser.add_argument("--cli-runs", type=int, default=5)
    parser.add_argument(
        "--ceiling-everywhere", action="store_true", help="measure /noop on every database"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="where to write the results (default: benchmarks/RESULTS.md on a full run only)",
    )
    parser.add_argument("--reinstall", action="store_true", help="rebuild the virtualenvs")
    args = parser.parse_args(argv)
    args.argv = argv
    args.backends = [b for b in args.backends.split(",") if b]
    unknown = set(args.backends) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    full = set(args.backends) == set(BACKENDS) and not (args.no_scale or args.no_cli)
    if args.output is None and full:
        args.output = HERE / "RESULTS.md"
    return args


def check_tools() -> None:
    missing = [tool for tool in ("wrk", "hyperfine") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"error: install {' and '.join(missing)} first (see benchmarks/README.md)")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    check_tools()
    started = time.monotonic()
    results = Results(started=dt.datetime.now(dt.UTC), machine=machine_info())
    if args.reinstall:
        shutil.rmtree(VENVS, ignore_errors=True)
    cleanup: list[tuple[Venv, str]] = []
    with tempfile.TemporaryDirectory(prefix="usergen-bench-") as tmp:
        work = Path(tmp)
        try:
            ours = make_venv("ours")
            log("installing usergen into the benchmark virtualenv")
            ours.pip("-e", str(REPO))
            project = work / "benchapp"
            log("generating the app with `usergen new`")
            run([ours.bin("usergen"), "new", str(project), "--defaults"], cwd=work)
            package = "benchapp"  # `usergen new` names the package after the folder
            shutil.copy(HERE / "noop_app.py", project / "noop_app.py")
            sa_project = work / SQLALCHEMY_PACKAGE
            new = [ours.bin("usergen"), "new", str(sa_project), "--defaults"]
            run([*new, "--data-layer", "sqlalchemy"], cwd=work)
            shutil.copy(HERE / "noop_app.py", sa_project / "noop_app.py")
            log("installing the generated apps' dependencies")
            ours.pip(*app_requirements(project), *app_requirements(sa_project))
            stack = ours.versions(*STACK)
            ref = make_venv("reference")
            log("installing FastAPI Users (latest) with the same server stack")
            pins = [f"{name}=={stack[name]}" for name in ("uvicorn", "uvloop", "httptools")]
            ref.pip(
                "-U",
                "--upgrade-strategy=only-if-needed",
                "-r",
                str(HERE / "requirements-reference.txt"),
                *pins,
            )
            ref.pip(f"uvicorn[standard]=={stack['uvicorn']}")
            results.versions = {
                "generated app": ours.versions(
                    *STACK,
                    "sqlalchemy",
                    "databases",
                    "asyncpg",
                    "aiomysql",
                    "aiosqlite",
                    "pyjwt",
                    "libpass",
                    "argon2-cffi",
                    "orjson",
                ),
                "reference": ref.versions(
                    *STACK,
                    "fastapi-users",
                    "fastapi-users-db-sqlalchemy",
                    "sqlalchemy",
                    "asyncpg",
                    "aiomysql",
                    "aiosqlite",
                    "pyjwt",
                    "pwdlib",
                    "argon2-cffi",
                ),
                "tools": tool_versions(),
            }
            if not args.no_cli:
                log("timing the CLI with hyperfine")
                measure_cli(ours, work, results, args.cli_runs)
            for backend in args.backends:
                bench_backend(
                    backend, ours, ref, project, package, work, results, args, cleanup, sa_project
                )
        finally:
            for venv, url in cleanup:
                log(f"dropping {url.rsplit('/', 1)[-1]}")
                subprocess.run([venv.python, str(HERE / "dbtasks.py"), "drop", url], check=False)
    results.wall_seconds = time.monotonic() - started
    report = render_results(results, args)
    print(report)
    if args.output:
        args.output.write_text(report)
        log(f"wrote {args.output}")
    log(f"done in {results.wall_seconds / 60:.1f} minutes")


if __name__ == "__main__":
    main()
