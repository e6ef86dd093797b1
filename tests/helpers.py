"""Helpers of the generator's tests: running the CLI and commands (in generated projects too),
comparing trees, and the database servers the generated apps are tested on."""

import atexit
import hashlib
import json
import locale
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent

# The database servers on this machine; each generated test run creates (and drops) its own
# database there.
SERVERS = {
    "postgresql": os.environ.get(
        "USERGEN_TEST_POSTGRESQL", "postgresql://postgres@127.0.0.1:5432/postgres"
    ),
    "mysql": os.environ.get("USERGEN_TEST_MYSQL", "mysql://root@127.0.0.1:3306/mysql"),
}
# Every database a generated app runs on: None is the embedded SQLite.
DATABASES: dict[str, str | None] = {"sqlite": None, **SERVERS}
# Redis, for the generated app's rate limit tests (they use key prefixes of their own).
REDIS = os.environ.get("USERGEN_TEST_REDIS", "redis://127.0.0.1:6379")
# Caches that tools write into a project; they are not the project's files.
_TOOL_FOLDERS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}


def run(
    *command: str | Path,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
    stdin: str = "",
    timeout: int = 600,
) -> subprocess.CompletedProcess[str]:
    """Run a command; unless ``check`` is false, the test fails with its output if it fails."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, command))} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result


def usergen(
    *args: str | Path, cwd: Path | None = None, stdin: str = "", check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the installed CLI as a user would, without a terminal: `python -m usergen ARGS` as a
    process of its own, forked from an interpreter that has already imported usergen
    (tests/cli_server.py says what that changes). Tests about start-up, imports or signals, or
    that run commands at the same time (the server runs one at a time), use
    ``usergen_process``."""
    command = [sys.executable, "-m", "usergen", *map(str, args)]
    result = _command_server().run(command, cwd=cwd, stdin=stdin, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result


def usergen_process(
    *args: str | Path, cwd: Path | None = None, stdin: str = "", check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`python -m usergen ARGS` in a new interpreter."""
    return run(
        sys.executable, "-m", "usergen", *args, cwd=cwd, stdin=stdin, check=check, timeout=120
    )


class _CommandServer:
    """The client of tests/cli_server.py: one server per test process, started at first use."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.cli_server"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )
        self.folder = Path(tempfile.mkdtemp(prefix="usergen-commands-"))
        self.streams = {name: self.folder / name for name in ("stdin", "stdout", "stderr")}
        for path in self.streams.values():
            path.touch()
        self.owner = os.getpid()
        self.lock = threading.Lock()  # one command at a time: the protocol is a single pipe
        if "ready" not in self._answer(None):
            raise RuntimeError("the usergen command server did not start")

    def _answer(self, timeout: float | None) -> dict[str, int]:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError
        line = self.process.stdout.readline()  # unbuffered: reads no further than the line
        if not line:
            raise RuntimeError(f"the usergen command server exited {self.process.wait()}")
        answer: dict[str, int] = json.loads(line)
        return answer

    def run(
        self, command: list[str], cwd: Path | None, stdin: str, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        with self.lock:
            return self._run(command, cwd, stdin, timeout)

    def _run(
        self, command: list[str], cwd: Path | None, stdin: str, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        assert self.process.stdin is not None
        encoding = locale.getpreferredencoding(False)  # as subprocess.run(text=True) decodes
        self.streams["stdin"].write_bytes(stdin.encode(encoding))
        request = {
            "argv": command[3:],
            "cwd": str(cwd if cwd is not None else Path.cwd()),
            "env": dict(os.environ),
            **{name: str(path) for name, path in self.streams.items()},
        }
        self.process.stdin.write(json.dumps(request).encode() + b"\n")
        pid = self._answer(None)["pid"]
        try:
            status = self._answer(timeout)["status"]
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            self._answer(None)
            raise subprocess.TimeoutExpired(command, timeout, *self._output(encoding)) from None
        return subprocess.CompletedProcess(command, status, *self._output(encoding))

    def _output(self, encoding: str) -> tuple[str, str]:
        def text(name: str) -> str:
            data = self.streams[name].read_bytes().decode(encoding)
            return data.replace("\r\n", "\n").replace("\r", "\n")

        return text("stdout"), text("stderr")

    def close(self) -> None:
        if self.owner == os.getpid():
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait()
            shutil.rmtree(self.folder, ignore_errors=True)


_server: _CommandServer | None = None


def _command_server() -> _CommandServer:
    global _server
    if _server is None or _server.owner != os.getpid() or _server.process.poll() is not None:
        _server = _CommandServer()
        atexit.register(_server.close)
    return _server


def new_project(parent: Path, name: str = "shop") -> Path:
    usergen("new", name, "--defaults", cwd=parent)
    return parent / name


def tree_hashes(root: Path) -> dict[str, str]:
    """Relative path → SHA-256 of every file under ``root`` (tool caches left out), to prove
    what changed and what did not."""
    hashes = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not _TOOL_FOLDERS & set(relative.parts):
            hashes[relative.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def changed_paths(before: Mapping[str, object], after: Mapping[str, object]) -> set[str]:
    """The paths whose content differs between two snapshots (or hashes) of a tree."""
    return {rel for rel in before.keys() | after.keys() if before.get(rel) != after.get(rel)}


_mypy_cache: Path | None = None


def mypy_cache_dir() -> Path:
    """A mypy cache of this test process (each pytest-xdist worker has its own), shared by the
    projects it checks one after another. Most of a cold mypy run goes to the libraries the
    code imports, which are the same in every generated project; mypy checks again every
    module whose file differs from what the cache recorded (by hash), and whatever depends
    on it, so a shared cache changes the time, not the result."""
    global _mypy_cache
    if _mypy_cache is None or not _mypy_cache.is_dir():
        _mypy_cache = Path(tempfile.mkdtemp(prefix="usergen-mypy-"))
        atexit.register(shutil.rmtree, _mypy_cache, ignore_errors=True)
    return _mypy_cache


def check_code(project: Path) -> None:
    """ruff, ruff format and mypy --strict (the project's configuration) pass."""
    run(sys.executable, "-m", "ruff", "check", ".", cwd=project)
    run(sys.executable, "-m", "ruff", "format", "--check", ".", cwd=project)
    run(sys.executable, "-m", "mypy", "--cache-dir", mypy_cache_dir(), cwd=project)


# The generated tests of the user's columns and models: what add-field, rename-field,
# remove-field and update change in a project (the table and its adapter, registration, the
# user routes, the admin list and its filters, the app's routes and OpenAPI, the fields' own
# tests). A project changed that way runs these; the whole suite runs on every database and
# data layer in test_generated_app.py, and, with a field of every type, in
# test_add_field_apps.py.
FIELD_TESTS = (
    "tests/test_user_fields.py",
    "tests/test_adapter.py",
    "tests/test_register.py",
    "tests/test_users.py",
    "tests/test_user_list.py",
    "tests/test_app.py",
)
# Of those, the tests of what the database does with the fields: each one written and read
# back (its type, default, uniqueness), and the table's adapter. What the API does with them
# does not depend on the database: a project changed that way runs FIELD_TESTS once, these on
# the other databases.
FIELD_DATABASE_TESTS = ("tests/test_user_fields.py", "tests/test_adapter.py")


def run_app_tests(project: Path, server: str | None, *paths: str) -> str:
    """The project's own tests (all, or ``paths``) on SQLite (None) or a database server; the
    summary line."""
    env = {"TEST_DATABASE_URL": SERVERS[server]} if server else {}
    # The account pages' browser tests run in test_generated_app.test_generated_tests_pass.
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "not browser"]
    command += paths
    result = run(*command, cwd=project, env=env)
    return result.stdout.strip().splitlines()[-1]


def server_reachable(url: str) -> bool:
    parsed = make_url(url)
    port = parsed.port or {"postgresql": 5432, "mysql": 3306}[parsed.get_backend_name()]
    try:
        socket.create_connection((parsed.host or "127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on, for a server a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
