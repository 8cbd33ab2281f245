"""Serve the raw reference as the service is served: N workers, each with its
own SO_REUSEPORT socket (app.core.server), so that both targets get their
connections spread the same way.

Usage: python -m bench.serve_raw HOST PORT WORKERS
"""

import multiprocessing
import signal
import sys
import time
from types import FrameType

import uvicorn

from app.core.server import listening_socket


def _worker(host: str, port: int) -> None:
    config = uvicorn.Config(
        "bench.raw_reference:app", log_level="warning", access_log=False
    )
    uvicorn.Server(config).run(sockets=[listening_socket(host, port)])


def main() -> None:
    host, port, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, stop)
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_worker, args=(host, port)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    while not stopping and all(process.is_alive() for process in processes):
        time.sleep(0.2)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join()


if __name__ == "__main__":
    main()
