"""A TCP proxy on loopback that can stop passing traffic without closing.

Between the service and PostgreSQL it plays a database that stops
answering (a frozen host, a network partition): connections stay open and
bytes go nowhere until `release`.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from sqlalchemy.engine import URL

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def opener_for(url: URL) -> Callable[[], Awaitable[Streams]]:
    """How to reach the database of `url`: TCP, or the embedded server's socket."""
    socket_dir = url.query.get("host")
    if isinstance(socket_dir, str) and socket_dir.startswith("/"):
        path = f"{socket_dir}/.s.PGSQL.{url.port or 5432}"
        return lambda: asyncio.open_unix_connection(path)
    host, port = url.host or "127.0.0.1", url.port or 5432
    return lambda: asyncio.open_connection(host, port)


class HoldingProxy:
    def __init__(self, open_target: Callable[[], Awaitable[Streams]]) -> None:
        self.open_target = open_target
        self.port = 0
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def hold(self) -> None:
        """Bytes in either direction wait, and new connections get nothing."""
        self._flowing.clear()

    def release(self) -> None:
        self._flowing.set()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for pipe in self._pipes:
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        await self._flowing.wait()
        try:
            server_reader, server_writer = await self.open_target()
        except OSError:
            client_writer.close()
            return
        for reader, writer in (
            (client_reader, server_writer),
            (server_reader, client_writer),
        ):
            pipe = asyncio.create_task(self._pipe(reader, writer))
            self._pipes.add(pipe)
            pipe.add_done_callback(self._pipes.discard)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
