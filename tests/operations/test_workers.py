"""Several workers: connections spread over them, crashes replaced, clean stop."""

import signal
import time
from pathlib import Path

import httpx
import psutil
from sqlalchemy.engine import URL

from tests.operations.live import live_server


def _workers(supervisor_pid: int) -> list[psutil.Process]:
    """Live server processes (multiprocessing's resource tracker is not one)."""
    workers = []
    for child in psutil.Process(supervisor_pid).children():
        try:
            if "resource_tracker" not in " ".join(child.cmdline()):
                workers.append(child)
        except psutil.ZombieProcess:
            continue  # dead, not yet reaped by the supervisor
    return workers


def _new_workers(supervisor_pid: int, *known: psutil.Process) -> list[psutil.Process]:
    known_pids = {process.pid for process in known}
    return [w for w in _workers(supervisor_pid) if w.pid not in known_pids]


def _established(worker: psutil.Process, port: int) -> int:
    return sum(
        1
        for connection in worker.net_connections(kind="tcp")
        if connection.status == psutil.CONN_ESTABLISHED
        and connection.laddr
        and connection.laddr.port == port
    )


def _listening(worker: psutil.Process, port: int) -> bool:
    return any(
        connection.status == psutil.CONN_LISTEN
        and connection.laddr
        and connection.laddr.port == port
        for connection in worker.net_connections(kind="tcp")
    )


def _wait_for(condition: object, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_connections_opened_at_once_are_spread_over_the_workers(
    database_url: URL, tmp_path: Path
) -> None:
    with live_server(database_url, tmp_path / "server.log", workers=2) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        # The server answers as soon as one worker listens; a busy machine
        # may start the other later, and it would then get no connection.
        _wait_for(
            lambda: (
                sum(_listening(worker, port) for worker in _workers(server.process.pid))
                == 2
            )
        )
        clients = [httpx.Client(base_url=server.base_url) for _ in range(16)]
        try:
            for client in clients:
                assert client.get("/healthz").status_code == 200
            per_worker = [
                _established(worker, port) for worker in _workers(server.process.pid)
            ]
        finally:
            for client in clients:
                client.close()

    assert len(per_worker) == 2
    assert sum(per_worker) == 16
    assert min(per_worker) >= 1


def test_a_dead_worker_is_replaced_and_a_stop_ends_them_all(
    database_url: URL, tmp_path: Path
) -> None:
    with live_server(database_url, tmp_path / "server.log", workers=2) as server:
        first, second = _workers(server.process.pid)
        first.kill()
        _wait_for(lambda: len(_new_workers(server.process.pid, first, second)) == 1)
        (replacement,) = _new_workers(server.process.pid, first, second)
        _wait_for(lambda: httpx.get(server.base_url + "/healthz").status_code == 200)

        server.process.send_signal(signal.SIGTERM)
        exit_code = server.process.wait(timeout=20)

    assert exit_code == 0
    assert not psutil.pid_exists(second.pid)
    assert not psutil.pid_exists(replacement.pid)
