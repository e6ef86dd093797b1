"""Starts `python -m usergen` commands for the tests without paying Python's start-up each time.

`python -m usergen` spends more CPU importing (Typer, Jinja, pydantic, usergen itself) than most
commands spend working. This server imports those modules once and then forks a child per
command; the child runs usergen's `__main__` as `python -m usergen` does (runpy), in the
command's folder, with its arguments, environment, standard input and output files, and exits
with the command's exit status. Each command is still its own process, started from the same
freshly imported state: nothing one command computes or caches reaches the next, and the tests
see exit codes, stdout, stderr and written files exactly as from a new interpreter.

What differs from a new interpreter: the modules are already imported, the hash seed is the
server's (the same for every command it starts), and environment variables read only at
interpreter start-up (PYTHON*) or when a module is imported keep the server's values. Tests
about those (what a command imports, start-up, signals, packaging) start `python -m usergen`
themselves.

Protocol (JSON lines): the client sends {"argv", "cwd", "env", "stdin", "stdout", "stderr"} (the
three streams are file paths); the server answers {"pid": …} once the child runs, then
{"status": …} (as `subprocess` reports it: negative for a signal) when it has exited.
"""

import atexit
import importlib
import json
import os
import pkgutil
import runpy
import signal
import sys
import traceback

# What usergen's commands import, including what they import only when they need it.
PRELOAD = [
    "jinja2",
    "jinja2.bccache",
    "jinja2.sandbox",
    "jinja2_ansible_filters",
    "pathspec",
    "copier",
    "ruff",
    "typer",
    "yaml",
]


def preload() -> None:
    import usergen

    for module in pkgutil.walk_packages(usergen.__path__, "usergen."):
        if module.name != "usergen.__main__":
            importlib.import_module(module.name)
    for name in PRELOAD:
        importlib.import_module(name)


def exit_status(code: object) -> int:
    """The status a Python process exits with after ``raise SystemExit(code)``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def run_command(request: dict[str, object], encoding: str) -> None:
    """In the forked child: become `python -m usergen ARGS` and exit; never returns."""
    status = 1
    try:
        os.chdir(str(request["cwd"]))
        os.environ.clear()
        os.environ.update(request["env"])  # type: ignore[call-overload]
        for fd, (key, flags) in enumerate(
            [
                ("stdin", os.O_RDONLY),
                ("stdout", os.O_WRONLY | os.O_TRUNC),
                ("stderr", os.O_WRONLY | os.O_TRUNC),
            ]
        ):
            opened = os.open(str(request[key]), flags)
            os.dup2(opened, fd)
            os.close(opened)
        # New streams on the new descriptors, buffered as an interpreter sets them up when they
        # are not terminals.
        sys.stdin = sys.__stdin__ = open(0, encoding=encoding, closefd=False)  # noqa: SIM115
        sys.stdout = sys.__stdout__ = open(1, "w", encoding=encoding, closefd=False)  # noqa: SIM115
        sys.stderr = sys.__stderr__ = open(  # noqa: SIM115
            2, "w", encoding=encoding, errors="backslashreplace", buffering=1, closefd=False
        )
        sys.path[0] = os.getcwd()  # as `python -m` sets it
        sys.argv = ["-m", *request["argv"]]  # type: ignore[misc]
        try:
            runpy.run_module("usergen", run_name="__main__", alter_sys=True)
            status = 0
        except SystemExit as exit:
            status = exit_status(exit.code)
        except KeyboardInterrupt:
            traceback.print_exc()
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        except BaseException:
            traceback.print_exc()
            status = 1
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                status = 120
    finally:
        os._exit(status)


def serve() -> None:
    # The protocol's pipes move off 0 and 1, which each child gives to its command.
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    encoding = sys.stdout.encoding
    preload()
    answers.write(json.dumps({"ready": True}) + "\n")
    answers.flush()
    for line in requests:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            requests.close()
            answers.close()
            run_command(request, encoding)
        answers.write(json.dumps({"pid": pid}) + "\n")
        answers.flush()
        _, wait_status = os.waitpid(pid, 0)
        answers.write(json.dumps({"status": os.waitstatus_to_exitcode(wait_status)}) + "\n")
        answers.flush()


if __name__ == "__main__":
    serve()
