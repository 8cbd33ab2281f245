"""How the service is served: uvicorn with the operator's settings.

Several workers each bind their own listening socket with SO_REUSEPORT, so
that the kernel spreads new connections across them. uvicorn's own
`--workers` shares one socket, and each worker's event loop accepts every
pending connection it can: a client that opens its connections in a burst
(a gateway, a benchmark) often lands all of them on one worker while the
others idle.
"""

import multiprocessing
import os
import signal
import socket
import time
from multiprocessing.process import BaseProcess
from types import FrameType

import structlog
import uvicorn

from app.core.logging import configure_logging
from app.core.settings import Settings

logger = structlog.get_logger(__name__)

# How often the supervisor of several workers looks for one that died.
_WATCH_INTERVAL_SECONDS = 0.5


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _serve_one(settings: Settings, host: str, port: int, shared: bool) -> None:
    """One uvicorn server until SIGTERM or SIGINT (Ctrl-C), then drain and exit 0.

    On a signal uvicorn stops accepting connections, lets the requests in
    flight finish for up to SHUTDOWN_GRACE_SECONDS, runs the lifespan's
    shutdown (which closes the database pool), and then raises the signal
    again with the handler that was there before it started. That handler
    is ours and exits with 0, so a requested stop is not reported as a
    crash (143) by the container runtime.
    """
    from app.main import create_app  # noqa: PLC0415 - the app imports this module's peers

    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _exit_cleanly)
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        # X-Forwarded-* are judged by app/core/proxy.py from TRUSTED_PROXIES.
        proxy_headers=False,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        # Our own access line (app/core/request_log.py) replaces uvicorn's,
        # and uvicorn's other lines go through our logging set-up.
        access_log=False,
        log_config=None,
        server_header=False,
    )
    sockets = [listening_socket(host, port)] if shared else None
    uvicorn.Server(config).run(sockets=sockets)


def _worker(settings: Settings, host: str, port: int) -> None:
    # Out of the terminal's process group: Ctrl-C reaches the supervisor
    # alone, which passes on one SIGTERM. A second signal would make uvicorn
    # drop the requests in flight instead of finishing them.
    os.setpgrp()
    _serve_one(settings, host, port, shared=True)


def serve(settings: Settings, *, host: str, port: int, workers: int = 1) -> None:
    """Serve until SIGTERM or SIGINT; with several workers, supervise them.

    A worker that dies is replaced; a stop signal is passed on to every
    worker, each drains as above, and the supervisor exits 0 after them.
    Metrics live in the process that counts them (app/core/metrics.py): in
    production, scale with more containers of one worker each.
    """
    if workers == 1:
        _serve_one(settings, host, port, shared=False)
        return

    context = multiprocessing.get_context("spawn")
    stopping = False

    def start_worker() -> BaseProcess:
        process = context.Process(target=_worker, args=(settings, host, port))
        process.start()
        return process

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    configure_logging(settings)
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, stop)
    processes = [start_worker() for _ in range(workers)]
    try:
        while not stopping:
            for index, process in enumerate(processes):
                if not process.is_alive():
                    logger.warning("server.worker_died", exitcode=process.exitcode)
                    processes[index] = start_worker()
            time.sleep(_WATCH_INTERVAL_SECONDS)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join()
