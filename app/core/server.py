"""How the service is served: uvicorn with the operator's settings."""

import signal
from types import FrameType

import uvicorn

from app.core.logging import configure_logging
from app.core.settings import Settings


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve(settings: Settings, *, host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT, then drain and exit with status 0.

    On a signal uvicorn stops accepting connections, lets the requests in
    flight finish for up to SHUTDOWN_GRACE_SECONDS, runs the lifespan's
    shutdown (which closes the database pool), and then raises the signal
    again with the handler that was there before it started. That handler
    is ours and exits with 0, so a requested stop is not reported as a
    crash (143) by the container runtime.

    One process: metrics live in the process that counts them (see
    app/core/metrics.py); scale with more containers, not workers.
    """
    configure_logging(settings)
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
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
