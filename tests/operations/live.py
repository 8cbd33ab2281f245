"""Real processes for the operations tests: uvicorn, and a PostgreSQL to stop."""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.engine import URL

from app.core.migrations import PROJECT_ROOT

# The production entry point, as the CLI's `run` calls it.
_SERVE = (
    "import sys\n"
    "from app.core.server import serve\n"
    "from app.core.settings import get_settings\n"
    "serve(get_settings(), host='127.0.0.1', port=int(sys.argv[1]),"
    " workers=int(sys.argv[2]))\n"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class LiveServer:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text()


@contextmanager
def live_server(
    database_url: URL, log_path: Path, *, workers: int = 1, **environment: str
) -> Iterator[LiveServer]:
    """uvicorn in a subprocess, serving once /healthz answers; JSON logs to a file."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url.render_as_string(hide_password=False),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        **environment,
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", _SERVE, str(port), str(workers)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(process, f"http://127.0.0.1:{port}", log_path)
    try:
        _wait_until_healthy(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_healthy(server: LiveServer) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{server.log_text()}")
        try:
            if httpx.get(server.base_url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not start:\n{server.log_text()}")


def postgres_binaries() -> tuple[Path, Path] | None:
    """initdb and pg_ctl, from PATH or pg_config; None when not installed."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return Path(initdb), Path(pg_ctl)
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = Path(
            subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True
            ).stdout.strip()
        )
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir / "initdb", bindir / "pg_ctl"
    return None


def postgres_os_user() -> str | None:
    """Who runs the server: PostgreSQL refuses to run as root."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    try:
        return pwd.getpwnam("postgres").pw_name
    except KeyError:
        return None


class PostgresProcess:
    """A PostgreSQL server of the test's own on a loopback port.

    The test stops and starts it at will, as an outage or a restart would.
    """

    def __init__(self, initdb: Path, pg_ctl: Path, os_user: str) -> None:
        self.initdb = initdb
        self.pg_ctl = pg_ctl
        self.os_user = os_user
        self.port = free_port()
        # Not pytest's tmp_path: the server's user must be able to enter it.
        self.data_dir = Path(tempfile.mkdtemp(prefix="support-tickets-outage-pg-"))
        account = pwd.getpwnam(os_user)
        os.chown(self.data_dir, account.pw_uid, account.pw_gid)
        self._run(
            self.initdb,
            "--pgdata",
            str(self.data_dir / "data"),
            "--username=postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )

    @property
    def url(self) -> URL:
        return URL.create(
            "postgresql",
            username="postgres",
            host="127.0.0.1",
            port=self.port,
            database="postgres",
        )

    def _run(self, *arguments: str | Path) -> None:
        subprocess.run(
            [str(argument) for argument in arguments],
            check=True,
            capture_output=True,
            user=self.os_user if os.geteuid() == 0 else None,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data_dir} -F"
        self._run(
            self.pg_ctl,
            "start",
            "--wait",
            "--pgdata",
            str(self.data_dir / "data"),
            "--log",
            str(self.data_dir / "server.log"),
            "-o",
            options,
        )

    def stop(self) -> None:
        """Fast shutdown: open sessions are terminated, as in a restart."""
        self._run(
            self.pg_ctl,
            "stop",
            "--wait",
            "--mode=fast",
            "--pgdata",
            self.data_dir / "data",
        )

    def remove(self) -> None:
        subprocess.run(
            [
                str(self.pg_ctl),
                "stop",
                "--mode=immediate",
                "--pgdata",
                str(self.data_dir / "data"),
            ],
            capture_output=True,
            user=self.os_user if os.geteuid() == 0 else None,
            check=False,
        )
        shutil.rmtree(self.data_dir, ignore_errors=True)
