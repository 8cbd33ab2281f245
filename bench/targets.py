"""The servers under load: the service as deployed, the same service with its
list cache turned off, and the raw reference.

All run the same number of uvicorn workers on loopback ports, each worker
with its own SO_REUSEPORT socket (uvicorn's shared socket often left one
worker with every connection), started once for the whole run; the one not
being measured sits idle.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from sqlalchemy.engine import URL

from bench.database import ROOT, BenchError, dsn

WORKERS = 2
LIST = "/v2/support-tickets/"
# Every target the bench runs, in the order of the report's tables.
TARGET_NAMES = ("service", "uncached", "raw")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Target:
    """One uvicorn master and its workers."""

    name: str  # a key of TARGET_NAMES
    application_name: str  # what its connections call themselves in PostgreSQL
    # The command, given the port; it must serve WORKERS workers.
    command: Callable[[int], list[str]]
    environment: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, database: URL) -> None:
        log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept open while it runs
            prefix=f"bench-{self.name}-", suffix=".log", delete=False
        )
        self.log_path = Path(log.name)
        environment = {
            **os.environ,
            "DATABASE_URL": dsn(database),
            "LOG_LEVEL": "WARNING",
            **self.environment,
        }
        self.process = subprocess.Popen(
            self.command(self.port),
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])

    def wait_until_answering(self, token: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        headers = {"Authorization": f"Bearer {token}"}
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise BenchError(f"{self.name} exited on start:\n{self.log_tail()}")
            try:
                answer = httpx.get(
                    f"{self.base_url}{LIST}?limit=1", headers=headers, timeout=30
                )
            except httpx.TransportError:
                time.sleep(0.3)
                continue
            if answer.status_code != 200:
                raise BenchError(
                    f"{self.name} answered {answer.status_code}: {answer.text[:300]}"
                )
            if len(self.workers()) == WORKERS:
                return
            time.sleep(0.3)
        raise BenchError(f"{self.name} did not answer in {timeout:.0f} s")

    def workers(self) -> list[psutil.Process]:
        """The uvicorn workers: children of the master started by spawn."""
        if self.process is None:
            return []
        try:
            children = psutil.Process(self.process.pid).children()
        except psutil.NoSuchProcess:
            return []
        workers = []
        for child in children:
            try:
                if any("spawn_main" in part for part in child.cmdline()):
                    workers.append(child)
            except psutil.NoSuchProcess:
                continue
        return workers

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            # Its own session: this kills the master and its workers only.
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)


def _serve(port: int) -> list[str]:
    executable = str(Path(sys.executable).with_name("support-tickets"))
    address = ["--host", "127.0.0.1", "--port", str(port)]
    return [executable, "serve", *address, "--workers", str(WORKERS)]


def service() -> Target:
    return Target("service", "support-tickets", _serve)


def uncached_service() -> Target:
    """The service with its list cache off: every answer computed afresh."""
    name = "support-tickets-uncached"
    environment = {"LIST_CACHE_MAX_BYTES": "0", "DATABASE_APPLICATION_NAME": name}
    return Target("uncached", name, _serve, environment=environment)


def raw_reference() -> Target:
    def command(port: int) -> list[str]:
        module = [sys.executable, "-m", "bench.serve_raw"]
        return [*module, "127.0.0.1", str(port), str(WORKERS)]

    return Target("raw", "bench-raw-reference", command)
