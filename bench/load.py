"""One fixed-duration wrk run against one target, with CPU and memory sampled.

During the run the bench samples, every SAMPLE_INTERVAL: the resident memory
of each uvicorn worker, and the CPU time of the workers and of the
PostgreSQL backends serving the target (found in pg_stat_activity by their
application_name, read through psutil: the bench runs as root on the
database's machine). CPU is the difference between the first and the last
reading of each process; a backend born during the run counts from zero.
"""

import asyncio
import contextlib
import json
import os
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from bench.database import BenchError
from bench.targets import Target

LUA_SCRIPT = Path(__file__).with_name("report.lua")
SAMPLE_INTERVAL = 0.25
WRK_THREADS = 1
WRK_TIMEOUT = "30s"


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise BenchError("wrk is not installed: apt-get install -y wrk")
    return found


def wrk_version() -> str:
    done = subprocess.run(
        [wrk_path(), "-v"], capture_output=True, text=True, check=False
    )
    return (done.stdout or done.stderr).strip().splitlines()[0]


def _cpu_seconds(process: psutil.Process) -> float | None:
    try:
        times = process.cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return float(times.user + times.system)


@dataclass
class _CpuLedger:
    """First and last CPU reading of each process seen during the run."""

    started_at: float
    first: dict[int, float] = field(default_factory=dict)
    last: dict[int, float] = field(default_factory=dict)

    def read(self, process: psutil.Process) -> None:
        seconds = _cpu_seconds(process)
        if seconds is None:
            return
        if process.pid not in self.first:
            try:
                born_during_run = process.create_time() >= self.started_at
            except psutil.NoSuchProcess:
                return
            self.first[process.pid] = 0.0 if born_during_run else seconds
        self.last[process.pid] = seconds

    def by_process(self) -> dict[int, float]:
        return {pid: self.last[pid] - self.first[pid] for pid in self.last}


@dataclass
class Measurement:
    wrk: dict[str, Any]
    worker_cpu: dict[int, float]
    worker_rss_max: dict[int, int]
    postgres_cpu: float | None
    postgres_backends: int
    wrk_cpu: float
    machine_busy_cpu: float
    wall: float

    @property
    def errors(self) -> int:
        keys = ("not_2xx", "connect_errors", "read_errors", "write_errors", "timeouts")
        return sum(int(self.wrk[key]) for key in keys)

    def as_dict(self) -> dict[str, Any]:
        return {
            "wrk": self.wrk,
            "worker_cpu_s": list(self.worker_cpu.values()),
            "worker_rss_max_bytes": list(self.worker_rss_max.values()),
            "postgres_cpu_s": self.postgres_cpu,
            "postgres_backends": self.postgres_backends,
            "wrk_cpu_s": self.wrk_cpu,
            "machine_busy_cpu_s": self.machine_busy_cpu,
            "wall_s": self.wall,
            "errors": self.errors,
        }


class _Sampler:
    def __init__(self, target: Target, monitor: asyncpg.Connection) -> None:
        self.target = target
        self.monitor = monitor
        self.workers = target.workers()
        loop_time = time.time()
        self.worker_cpu = _CpuLedger(loop_time)
        self.backend_cpu = _CpuLedger(loop_time)
        self.rss_max: dict[int, int] = {}
        self.backends_local = True
        self.backend_pids: set[int] = set()

    async def _backends(self) -> list[psutil.Process]:
        rows = await self.monitor.fetch(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = $1",
            self.target.application_name,
        )
        processes = []
        for row in rows:
            try:
                process = psutil.Process(row["pid"])
                if "postgres" not in process.name():
                    self.backends_local = False
                    continue
            except psutil.NoSuchProcess:
                continue
            self.backend_pids.add(row["pid"])
            processes.append(process)
        if rows and not processes:
            self.backends_local = False
        return processes

    async def sample(self) -> None:
        for worker in self.workers:
            self.worker_cpu.read(worker)
            try:
                rss = worker.memory_info().rss
            except psutil.NoSuchProcess:
                continue
            self.rss_max[worker.pid] = max(rss, self.rss_max.get(worker.pid, 0))
        for backend in await self._backends():
            self.backend_cpu.read(backend)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.sample()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SAMPLE_INTERVAL)


def _machine_busy_seconds() -> float:
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    return float(sum(times) - idle)


async def _wrk(
    url: str, token: str, duration: float, connections: int
) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        wrk_path(),
        f"-t{WRK_THREADS}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        WRK_TIMEOUT,
        "-s",
        str(LUA_SCRIPT),
        url,
        env={**os.environ, "BENCH_TOKEN": token},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    for line in stdout.decode().splitlines():
        if line.startswith("BENCH_RESULT "):
            return dict(json.loads(line.removeprefix("BENCH_RESULT ")))
    raise BenchError(
        f"wrk gave no result ({process.returncode}): {stderr.decode()[-500:]}"
    )


async def drain(target: Target, monitor: asyncpg.Connection, limit: float) -> float:
    """Wait until the target's backends are idle; the seconds it took.

    When wrk stops, requests still in flight go on in PostgreSQL (a slow
    search can run for many seconds); measuring the next run meanwhile
    would charge their cost to it.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < limit:
        busy = await monitor.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = $1"
            " AND state NOT LIKE 'idle%'",
            target.application_name,
        )
        if not busy:
            break
        await asyncio.sleep(0.2)
    return loop.time() - started


async def measure(
    target: Target,
    monitor: asyncpg.Connection,
    path: str,
    token: str,
    *,
    duration: float,
    connections: int,
) -> Measurement:
    """Drive `path` on `target` for `duration` seconds and account for it."""
    sampler = _Sampler(target, monitor)
    await sampler.sample()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_before = _machine_busy_seconds()
    started = asyncio.get_running_loop().time()

    stop = asyncio.Event()
    sampling = asyncio.create_task(sampler.run(stop))
    try:
        result = await _wrk(
            target.base_url + path, token, duration=duration, connections=connections
        )
    finally:
        stop.set()
        await sampling
    await sampler.sample()

    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = (children_after.ru_utime + children_after.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    postgres = sum(sampler.backend_cpu.by_process().values())
    return Measurement(
        wrk=result,
        worker_cpu=sampler.worker_cpu.by_process(),
        worker_rss_max=sampler.rss_max,
        postgres_cpu=postgres if sampler.backends_local else None,
        postgres_backends=len(sampler.backend_pids),
        wrk_cpu=wrk_cpu,
        machine_busy_cpu=_machine_busy_seconds() - busy_before,
        wall=asyncio.get_running_loop().time() - started,
    )
