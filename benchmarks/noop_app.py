"""The generated app plus one no-op route, /noop: the framework's ceiling on this machine.

run.py copies this file into the benchmarked copy of the generated project only; the
template has no such route. BENCH_PACKAGE names the generated package.
"""

import importlib
import os

from fastapi import FastAPI


def create_app() -> FastAPI:
    main = importlib.import_module(f"{os.environ['BENCH_PACKAGE']}.main")
    app: FastAPI = main.create_app()

    @app.get("/noop")
    async def noop() -> dict[str, bool]:
        return {"ok": True}

    return app
