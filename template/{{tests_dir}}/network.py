"""Network helpers: a free port, waiting for a server process, and a TCP proxy that a test can
stop and restart."""

import socket
import struct
import subprocess
import time
from collections.abc import Awaitable, Callable
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
    """A TCP proxy between the app and a server (a database, Redis). Stopping it cuts every
    connection and refuses new ones, as a server that went down would; freezing it keeps every
    connection open but passes nothing on, as a server that hangs would; `answer` cuts every
    connection and answers new ones with a message of its own, as a server that restarts."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._scope: anyio.CancelScope | None = None
        self._thawed = anyio.Event()
        self._thawed.set()
        self._connections: set[anyio.CancelScope] = set()
        self._answer: Callable[[SocketStream], Awaitable[None]] | None = None

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

    def freeze(self) -> None:
        self._thawed = anyio.Event()

    def thaw(self) -> None:
        self._thawed.set()

    def answer(self, respond: Callable[[SocketStream], Awaitable[None]] | None) -> None:
        """Cut every connection; from now on, run ``respond`` on each new one instead of
        passing it on (None: pass new ones on again)."""
        self._answer = respond
        for connection in self._connections:
            connection.cancel()

    async def _forward(self, client: SocketStream) -> None:
        if self._answer is not None:
            async with client:
                await self._answer(client)
            return
        with anyio.CancelScope() as connection:
            self._connections.add(connection)
            try:
                await self._pipe_both_ways(client)
            finally:
                self._connections.discard(connection)

    async def _pipe_both_ways(self, client: SocketStream) -> None:
        async with (
            client,
            await anyio.connect_tcp(self.host, self.port) as server,
            anyio.create_task_group() as tasks,
        ):

            async def pipe(source: SocketStream, sink: SocketStream) -> None:
                try:
                    async for chunk in source:
                        await self._thawed.wait()
                        await sink.send(chunk)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    pass
                tasks.cancel_scope.cancel()  # one side hung up: close both

            tasks.start_soon(pipe, client, server)
            tasks.start_soon(pipe, server, client)


async def postgresql_starting_up(client: SocketStream) -> None:
    """Answer a connection as PostgreSQL does while it starts up (or restarts): SQLSTATE 57P03
    "the database system is starting up", after declining TLS if the client asks for it."""
    length, code = struct.unpack("!ii", await receive_exactly(client, 8))
    if code == 80877103:  # SSLRequest
        await client.send(b"N")
        length, _ = struct.unpack("!ii", await receive_exactly(client, 8))
    await receive_exactly(client, length - 8)  # the rest of the startup message
    fields = b"".join(
        kind + text + b"\0"
        for kind, text in (
            (b"S", b"FATAL"),
            (b"V", b"FATAL"),
            (b"C", b"57P03"),
            (b"M", b"the database system is starting up"),
        )
    )
    body = fields + b"\0"
    await client.send(b"E" + struct.pack("!i", len(body) + 4) + body)


async def receive_exactly(stream: SocketStream, size: int) -> bytes:
    data = b""
    while len(data) < size:
        data += await stream.receive(size - len(data))
    return data
