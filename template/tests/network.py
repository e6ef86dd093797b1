"""Network helpers: a free port, waiting for a server process, and a TCP proxy that a test can
stop and restart."""

import socket
import subprocess
import time
from pathlib import Path

import anyio
import httpx
import pytest
from anyio.abc import SocketAttribute, SocketStream, TaskStatus


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Return once the app process at ``url`` answers; fail with its log if it stops or takes
    more than a minute."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the app process stopped:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/openapi.json", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the app process did not start in 60 s:\n{log.read_text()}")


class Proxy:
    """A TCP proxy between the app and the database server. Stopping it cuts every
    connection and refuses new ones, as a database that went down would."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._scope: anyio.CancelScope | None = None

    async def serve(
        self, port: int = 0, *, task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen on ``port`` (any free one if 0) until `stop`; report the port when ready."""
        with anyio.CancelScope() as self._scope:
            listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=port)
            async with listener:
                task_status.started(listener.extra(SocketAttribute.local_port))
                await listener.serve(self._forward)

    def stop(self) -> None:
        assert self._scope is not None
        self._scope.cancel()

    async def _forward(self, client: SocketStream) -> None:
        async with (
            client,
            await anyio.connect_tcp(self.host, self.port) as server,
            anyio.create_task_group() as tasks,
        ):

            async def pipe(source: SocketStream, sink: SocketStream) -> None:
                try:
                    async for chunk in source:
                        await sink.send(chunk)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    pass
                tasks.cancel_scope.cancel()  # one side hung up: close both

            tasks.start_soon(pipe, client, server)
            tasks.start_soon(pipe, server, client)
