"""`make bench`: the list endpoint under load, next to a raw asyncpg reference.

Steps: choose the database server and load the dataset with the project's
own commands (bench/database.py); create a staff and a fleet user with
tokens; inspect the targets in-process (statements per request, profiles);
start the service, the service without its list cache and the raw reference
under uvicorn with 2 workers each; run every scenario against all three,
back to back, with wrk; write bench/results/<date>-N<tickets>.md and
latest.md. See bench/README.md for how to read the report.
"""

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import psutil
from sqlalchemy.engine import URL

from bench import inprocess, load, report
from bench.database import (
    ROOT,
    BenchError,
    Caller,
    bench_callers,
    chosen_server,
    describe,
    dsn,
    prepare_dataset,
    revoke_tokens,
)
from bench.scenarios import DEFAULT_SEARCH_WORD, Scenario, scenarios
from bench.targets import Target, raw_reference, service, uncached_service
from bench.writer import Writes, writing

RESULTS = Path(__file__).with_name("results")
STARTED = time.monotonic()
# How long to wait for a target's queries to finish after a run.
DRAIN_LIMIT = 300.0


def log(message: str) -> None:
    print(
        f"[bench {time.monotonic() - STARTED:6.1f}s] {message}",
        file=sys.stderr,
        flush=True,
    )


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--tickets", type=int, default=1_000_000, help="N")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=float, default=20, help="seconds per run")
    parser.add_argument(
        "--warmup", type=float, default=3, help="seconds before each run"
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--database",
        default="support_tickets_bench",
        help="database name on the local or embedded server",
    )
    parser.add_argument(
        "--reseed",
        action="store_true",
        default=os.environ.get("RESEED") == "1",
        help="reload the dataset even if it is there (RESEED=1)",
    )
    parser.add_argument(
        "--existing",
        action="store_true",
        default=os.environ.get("BENCH_EXISTING") == "1",
        help="measure the data already in the database (BENCH_EXISTING=1)",
    )
    parser.add_argument(
        "--search-word",
        default=os.environ.get("BENCH_SEARCH_WORD") or DEFAULT_SEARCH_WORD,
    )
    parser.add_argument("--profile-requests", type=int, default=30)
    parser.add_argument("--profile-seconds", type=float, default=10)
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    parser.add_argument(
        "--note",
        default=os.environ.get("BENCH_NOTE", ""),
        help="a line at the top of the report, e.g. what else ran meanwhile",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="check the report names every scenario and no request failed",
    )
    return parser.parse_args(argv)


def _commit() -> str:
    def git(*arguments: str) -> str:
        return subprocess.run(
            ["git", *arguments], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return (
        f"{commit}-dirty"
        if git("status", "--porcelain", "--untracked-files=no")
        else commit
    )


def _machine() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu_model": model,
        "cores": psutil.cpu_count() or 1,
        "memory_gib": psutil.virtual_memory().total / 2**30,
        "python": platform.python_version(),
        "wrk": load.wrk_version(),
    }


async def _inspect(
    url: URL, plan: list[Scenario], tokens: dict[str, str], args: argparse.Namespace
) -> dict[str, dict[str, inprocess.Inspection]]:
    options = {
        "profile_requests": args.profile_requests,
        "profile_seconds": args.profile_seconds,
    }
    log("in-process: statements per request and profiles of the service")
    served = await inprocess.inspect_service(url, plan, tokens, **options)
    log("in-process: the same without its list cache")
    uncached = await inprocess.inspect_service(
        url, plan, tokens, list_cache=False, **options
    )
    log("in-process: the same for the raw reference")
    raw = await inprocess.inspect_raw(url, plan, tokens, **options)
    return {"service": served, "uncached": uncached, "raw": raw}


async def _load(
    url: URL,
    targets: list[Target],
    plan: list[Scenario],
    tokens: dict[str, str],
    args: argparse.Namespace,
    fleet_id: int,
) -> dict[str, Any]:
    monitor = await asyncpg.connect(
        dsn(url), server_settings={"application_name": "bench-monitor"}
    )
    results: dict[str, Any] = {}
    try:
        for index, scenario in enumerate(plan):
            # Alternate the order, so that no target always runs on caches
            # another warmed.
            order = targets if index % 2 == 0 else targets[::-1]
            loads, warmup_errors = {}, {}
            for target in order:
                token = tokens[scenario.caller]
                options = {"duration": args.warmup, "connections": args.connections}
                warm = await load.measure(
                    target, monitor, scenario.path, token, **options
                )
                await load.drain(target, monitor, DRAIN_LIMIT)
                options["duration"] = args.duration
                writes = (
                    writing(url, fleet_id, scenario.writes_per_second)
                    if scenario.writes_per_second
                    else contextlib.nullcontext(Writes())
                )
                async with writes as written:
                    measured = await load.measure(
                        target, monitor, scenario.path, token, **options
                    )
                drained = await load.drain(target, monitor, DRAIN_LIMIT)
                loads[target.name] = {
                    **measured.as_dict(),
                    "drain_s": drained,
                    "writes_committed": written.committed,
                }
                warmup_errors[target.name] = warm.errors
                wrk = measured.wrk
                log(
                    f"{scenario.key} {target.name:7} "
                    f"{wrk['requests'] / (wrk['duration_us'] / 1e6):8.1f} req/s  "
                    f"p50 {wrk['latency_p50_us'] / 1000:8.1f} ms  "
                    f"p99 {wrk['latency_p99_us'] / 1000:8.1f} ms  "
                    f"errors {measured.errors + warm.errors}  "
                    f"drained in {drained:.1f} s"
                )
            results[scenario.key] = {"load": loads, "warmup_errors": warmup_errors}
    finally:
        await monitor.close()
    return results


def _measure(
    url: URL, staff: Caller, member: Caller, args: argparse.Namespace
) -> dict[str, Any]:
    facts = asyncio.run(describe(url, member.fleet_ids[0]))
    tickets = facts["support_tickets"]
    plan = scenarios(tickets, member.fleet_ids[0], args.search_word)
    tokens = {"staff": staff.token, "fleet": member.token}

    inspections = asyncio.run(_inspect(url, plan, tokens, args))

    targets = [service(), uncached_service(), raw_reference()]
    try:
        for target in targets:
            log(f"starting {target.name} on port {target.port}")
            target.start(url)
        for target in targets:
            target.wait_until_answering(staff.token)
        loads = asyncio.run(
            _load(url, targets, plan, tokens, args, member.fleet_ids[0])
        )
    finally:
        for target in targets:
            target.stop()

    first = inspections["service"][plan[0].key]
    return {
        "facts": facts,
        "fleet_id": member.fleet_ids[0],
        "service_statements": first.statement_texts,
        "service_first_statements": first.first_statement_texts,
        "scenarios": [
            {
                "key": scenario.key,
                "title": scenario.title,
                "group": scenario.group,
                "path": scenario.path,
                "caller": scenario.caller,
                "inspection": {
                    name: by_key[scenario.key].as_dict()
                    for name, by_key in inspections.items()
                },
                **loads[scenario.key],
            }
            for scenario in plan
        ],
    }


def _write(run: dict[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    tickets = run["dataset"]["facts"]["support_tickets"]
    stem = f"{run['started'][:10]}-N{tickets}"
    text = report.markdown(run)
    path = directory / f"{stem}.md"
    path.write_text(text + "\n")
    (directory / f"{stem}.json").write_text(json.dumps(run, indent=1) + "\n")
    shutil.copyfile(path, directory / "latest.md")
    return path


def _check_smoke(path: Path, run: dict[str, Any]) -> list[str]:
    text = path.read_text()
    problems = [
        f"{key} is missing from the report"
        for key in (f"S{number}" for number in range(1, 9))
        if f"| {key} " not in text
    ]
    # On a small dataset nothing may fail, whichever target it is.
    failed = report.failed_requests(run)
    if failed:
        problems.append(f"{failed} requests failed")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    started = datetime.now(UTC)
    load.wrk_path()  # fail early when wrk is missing
    try:
        with chosen_server(args.database) as server:
            log(f"database {server.url.database} on the {server.kind}")
            dataset = prepare_dataset(
                server.url,
                tickets=args.tickets,
                seed=args.seed,
                reseed=args.reseed,
                existing=args.existing,
                log=log,
            )
            staff, member = bench_callers(server.url, log)
            try:
                measured = _measure(server.url, staff, member, args)
            finally:
                revoke_tokens(server.url, staff, member)
    except BenchError as error:
        log(f"failed: {error}")
        return 1

    run = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "elapsed_s": time.monotonic() - STARTED,
        "commit": _commit(),
        "note": args.note,
        "server_kind": server.kind,
        "machine": _machine(),
        "search_word": args.search_word,
        "settings": {
            "tickets": args.tickets,
            "duration": args.duration,
            "warmup": args.warmup,
            "connections": args.connections,
            "wrk_threads": load.WRK_THREADS,
            "wrk_timeout": load.WRK_TIMEOUT,
            "profile_requests": args.profile_requests,
            "profile_seconds": args.profile_seconds,
        },
        "dataset": {
            "seed": dataset.seed,
            "loaded_now": dataset.loaded_now,
            "facts": measured.pop("facts"),
        },
        **measured,
    }
    path = _write(run, args.results_dir)
    log(f"report: {path}")
    # The uncached service may run out of time on a large search; that is
    # one of the figures, not a failure of the bench.
    failed = report.failed_requests(run, ("service", "raw"))
    if args.smoke:
        problems = _check_smoke(path, run)
        for problem in problems:
            log(f"smoke: {problem}")
        return 1 if problems else 0
    if failed:
        log(f"{failed} requests failed: see the report")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
