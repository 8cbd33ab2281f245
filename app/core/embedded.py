"""The database to use: DATABASE_URL, or a private PostgreSQL in the checkout.

Without DATABASE_URL, commands that need a database start a real PostgreSQL
shipped in the `pgserver` wheel (the optional `embedded` extra), with its data
in `.data/postgres` so it survives restarts, reached over a unix socket only:
nothing listens on the network. Several commands may use it at once; pgserver
counts the processes holding it and the last one to leave stops it.
"""

import os
import subprocess
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from app.core.migrations import PROJECT_ROOT
from app.core.settings import Settings


class EmbeddedUnavailable(RuntimeError):
    """No DATABASE_URL and no way to start the embedded server."""


def data_dir(settings: Settings) -> Path:
    """EMBEDDED_DATA_DIR, else .data/postgres in the checkout.

    An installed copy has no checkout around it; it uses the current
    directory instead.
    """
    if settings.embedded_data_dir is not None:
        return settings.embedded_data_dir
    is_checkout = (PROJECT_ROOT / "pyproject.toml").is_file()
    return (PROJECT_ROOT if is_checkout else Path.cwd()) / ".data" / "postgres"


def _import_pgserver() -> Any:
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset, which is
            # normal for root and in containers; pgserver copes without it.
            warnings.simplefilter("ignore")
            import pgserver  # noqa: PLC0415 - optional, only without DATABASE_URL
    except ImportError as error:
        raise EmbeddedUnavailable(
            "DATABASE_URL is not set and the embedded PostgreSQL is not "
            "installed (pip install 'support-tickets[embedded]')"
        ) from error
    return pgserver


def _forget_dead_holders(server: Any) -> None:
    """Drop the pids of processes that died without letting go of the server.

    pgserver stops the server only when the last holder in its list leaves;
    a holder killed with SIGKILL stays listed for ever, and then nobody would
    stop the server again. Reads pgserver's own list under pgserver's own
    lock (pgserver 0.1.x; pinned below 0.2 in pyproject.toml).
    """
    holders = server.global_process_id_list
    with server._lock:
        holders.put([pid for pid in holders.get() if _is_running(pid)])


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def embedded_server(directory: Path) -> Iterator[URL]:
    """Start (or join) the private server; stop it when the last user leaves."""
    pgserver = _import_pgserver()
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = pgserver.get_server(directory, cleanup_mode="stop")
    except (subprocess.SubprocessError, OSError) as error:
        raise EmbeddedUnavailable(
            f"the embedded PostgreSQL did not start ({error}); "
            f"see its log in {directory / 'log'}"
        ) from error
    _forget_dead_holders(server)
    try:
        yield make_url(server.get_uri())
    finally:
        server.cleanup()


@contextmanager
def database_url(settings: Settings) -> Iterator[URL]:
    """DATABASE_URL when set (no server is started); else the embedded one."""
    if settings.database_url is not None:
        yield make_url(settings.database_url)
        return

    with embedded_server(data_dir(settings)) as url:
        yield url
