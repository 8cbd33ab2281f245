"""The results as numbers per scenario, and as the markdown report.

Every verdict in the report is computed here from the measured numbers;
nothing in it is written by hand.
"""

from typing import Any

from bench.scenarios import (
    GROUPS,
    MAX_SERIALIZATION_SHARE,
    MAX_STATEMENTS,
    TARGETS,
)
from bench.targets import TARGET_NAMES

# The targets compared with the raw reference, as the report names them.
COMPARED = {"service": "service / raw", "uncached": "uncached / raw"}

MIB = 1024 * 1024
TARGETS_AT = 1_000_000
# One worker doing more than this share of the work: the load was not spread.
UNEVEN_SPLIT = 0.7


def numbers(run: dict[str, Any]) -> dict[str, Any]:
    """Per scenario and target: the figures every table of the report uses."""
    figures: dict[str, Any] = {}
    for scenario in run["scenarios"]:
        key = scenario["key"]
        per_target = {}
        for name, measured in scenario["load"].items():
            wrk = measured["wrk"]
            requests = max(int(wrk["requests"]), 1)
            seconds = wrk["duration_us"] / 1e6
            workers = measured["worker_cpu_s"]
            postgres = measured["postgres_cpu_s"]
            inspection = scenario["inspection"].get(name, {})
            # With no request completed, wrk reports latencies of 0.
            answered = int(wrk["requests"]) > 0
            per_target[name] = {
                "requests": int(wrk["requests"]),
                "rps": wrk["requests"] / seconds if seconds else 0.0,
                "p50_ms": wrk["latency_p50_us"] / 1000 if answered else None,
                "p90_ms": wrk["latency_p90_us"] / 1000 if answered else None,
                "p99_ms": wrk["latency_p99_us"] / 1000 if answered else None,
                "max_ms": wrk["latency_max_us"] / 1000 if answered else None,
                "errors": measured["errors"],
                "warmup_errors": scenario["warmup_errors"].get(name, 0),
                "rss_max_mb": max(measured["worker_rss_max_bytes"] or [0]) / MIB,
                "rss_per_worker_mb": [
                    rss / MIB for rss in measured["worker_rss_max_bytes"]
                ],
                "worker_cpu_s": sum(workers),
                "worker_split": [
                    cpu / sum(workers) if sum(workers) else 0.0 for cpu in workers
                ],
                "worker_cpu_ms": 1000 * sum(workers) / requests if answered else None,
                "postgres_cpu_s": postgres,
                "postgres_cpu_ms": None
                if postgres is None or not answered
                else 1000 * postgres / requests,
                "postgres_backends": measured["postgres_backends"],
                "wrk_cpu_s": measured["wrk_cpu_s"],
                "other_cpu_s": measured["machine_busy_cpu_s"]
                - sum(workers)
                - (postgres or 0.0)
                - measured["wrk_cpu_s"],
                "machine_busy_cpu_s": measured["machine_busy_cpu_s"],
                "wall_s": measured["wall_s"],
                "drain_s": measured.get("drain_s", 0.0),
                "writes_committed": measured.get("writes_committed", 0),
                "statements_sqlalchemy": inspection.get("statements_sqlalchemy"),
                "statements_wire": inspection.get("statements_wire"),
                "first_statements_sqlalchemy": inspection.get(
                    "first_statements_sqlalchemy"
                ),
                "first_statements_wire": inspection.get("first_statements_wire"),
                "python_share": inspection.get("profile", {}).get("python_share"),
                "serialization_share": inspection.get("profile", {}).get(
                    "serialization_share"
                ),
                "count": inspection.get("count"),
            }
        raw = per_target["raw"]
        for name in COMPARED:
            if name not in per_target:
                continue
            compared = per_target[name]
            compared["rps_ratio"] = compared["rps"] / raw["rps"] if raw["rps"] else None
            compared["p99_ratio"] = (
                compared["p99_ms"] / raw["p99_ms"]
                if compared["p99_ms"] is not None and raw["p99_ms"]
                else None
            )
        plan = scenario["inspection"].get("service", {}).get("plan") or ""
        per_target["service"]["trigram_used"] = 1 if "trgm_" in plan else 0
        figures[key] = per_target
    return figures


def verdicts(run: dict[str, Any], figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue with its measured value and met / not met."""
    rows = []
    for target in TARGETS:
        if target.scenario not in figures:
            continue
        measured = figures[target.scenario]["service"].get(target.measure)
        met = measured is not None and (
            measured >= target.limit if target.at_least else measured <= target.limit
        )
        rows.append(
            {
                "scenario": target.scenario,
                "label": target.label,
                "measured": measured,
                "limit": f"{'>=' if target.at_least else '<='} {target.limit:g}",
                "met": met,
            }
        )

    # A computing request may open a pooled connection, whose set-up the wire
    # count includes: its verdict is on what the service itself sends.
    for field, kind in (
        ("statements_wire", "reused answer, wire"),
        ("first_statements_sqlalchemy", "computed answer, sent by the service"),
    ):
        counts = {key: per["service"][field] for key, per in figures.items()}
        constant = len(set(counts.values())) == 1
        largest = max((count or 0 for count in counts.values()), default=0)
        rows.append(
            {
                "scenario": "all",
                "label": f"SQL statements per request ({kind}), same in every scenario",
                "measured": ", ".join(f"{key}: {n}" for key, n in counts.items()),
                "limit": f"one value, <= {MAX_STATEMENTS}",
                "met": constant and largest <= MAX_STATEMENTS,
            }
        )
    for name in COMPARED:
        shares = {
            key: per[name]["serialization_share"]
            for key, per in figures.items()
            if name in per and per[name]["serialization_share"] is not None
        }
        if not shares:
            continue
        rows.append(
            {
                "scenario": "all",
                "label": f"serialization's share of request time ({name}, profiled)",
                "measured": ", ".join(
                    f"{key}: {share:.0%}" for key, share in shares.items()
                ),
                "limit": f"< {MAX_SERIALIZATION_SHARE:.0%} in every scenario",
                "met": all(s < MAX_SERIALIZATION_SHARE for s in shares.values()),
            }
        )
    failed = sum(
        per["service"]["errors"] + per["service"]["warmup_errors"]
        for per in figures.values()
    )
    rows.append(
        {
            "scenario": "all",
            "label": "failed requests of the service (non-2xx, socket errors, "
            "timeouts)",
            "measured": failed,
            "limit": "0",
            "met": failed == 0,
        }
    )
    return rows


def _number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}x"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _measured(value: Any) -> str:
    if isinstance(value, float):
        return _number(value, 2)
    return "n/a" if value is None else str(value)


def _machine(run: dict[str, Any]) -> list[str]:
    machine, facts = run["machine"], run["dataset"]["facts"]
    trigram = (
        f"yes (pg_trgm {facts['pg_trgm']}, {len(facts['trigram_indexes'])} "
        f"trigram indexes)"
        if facts["pg_trgm"] and facts["trigram_indexes"]
        else "no: the server lacks pg_trgm or the indexes; search scans"
    )
    return [
        "## Machine",
        "",
        f"- CPU: {machine['cpu_model']}, {machine['cores']} cores; memory "
        f"{machine['memory_gib']:.0f} GiB",
        f"- PostgreSQL {facts['postgres_version']} ({run['server_kind']}), "
        f"shared_buffers {facts['shared_buffers']}, work_mem {facts['work_mem']}, "
        f"database {facts['database_size']}",
        f"- trigram search indexes: {trigram}",
        f"- Python {machine['python']}, {machine['wrk']}",
        "",
    ]


def _dataset(run: dict[str, Any], figures: dict[str, Any]) -> list[str]:
    dataset, facts = run["dataset"], run["dataset"]["facts"]
    origin = (
        f"seed {dataset['seed']}, loaded by `support-tickets seed`"
        if dataset["seed"] is not None
        else "data found in the database (BENCH_EXISTING=1), not loaded by the bench"
    )
    matched = figures.get("S3", {}).get("service", {}).get("count")
    return [
        "## Dataset",
        "",
        f"- {facts['support_tickets']:,} tickets ({origin}); "
        f"{facts['fleets']:,} fleets, {facts['users']:,} users, "
        f"{facts['ticket_entities']:,} entities, {facts['ticket_comments']:,} comments",
        f"- fleet user `bench-fleet` is a member of fleet {run['fleet_id']} "
        f"({facts['fleet_tickets']:,} tickets, the median fleet); S2 filters "
        "on the same fleet",
        f"- S3 searches `{run['search_word']}`: it matches "
        f"{_measured(matched)} tickets",
        "",
    ]


def _settings(run: dict[str, Any]) -> list[str]:
    settings = run["settings"]
    return [
        "## Settings",
        "",
        f"- {settings['duration']:g} s per scenario and target after a "
        f"{settings['warmup']:g} s warm-up; the targets measured back to back "
        "for each scenario, in an order reversed from one scenario to the next",
        f"- wrk: {settings['connections']} connections, {settings['wrk_threads']} "
        f"thread (fewer threads than cores, so that the load generator takes "
        f"less CPU from the servers), timeout {settings['wrk_timeout']}; its "
        "Lua script checks every status code",
        "- *service*: as deployed, its list cache on (the default); "
        "*uncached*: the same with `LIST_CACHE_MAX_BYTES=0`, every answer "
        "computed; *raw*: the raw reference (bench/raw_reference.py)",
        "- every target: 2 uvicorn workers with their own SO_REUSEPORT "
        "sockets, no reload, access log off, LOG_LEVEL=WARNING, pools of 10 "
        "connections per worker",
        "- in-process inspection: 2 counted requests per scenario (the first "
        "computes the answer, the second is what the load repeats); "
        f"profiles of up to {settings['profile_requests']} sequential requests "
        f"({settings['profile_seconds']:g} s at most) per scenario",
        "",
    ]


def _group_tables(run: dict[str, Any], figures: dict[str, Any]) -> list[str]:
    lines = ["## Results", ""]
    for group, title in GROUPS.items():
        keys = [s["key"] for s in run["scenarios"] if s["group"] == group]
        if not keys:
            continue
        lines += [
            f"### {title}",
            "",
            "| scenario | target | req/s | p50 ms | p99 ms | errors | "
            "RSS/worker MiB | worker CPU ms/req | PostgreSQL CPU ms/req | "
            "statements/req | Python share | serialization share |",
            "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for key in keys:
            title_of = next(s["title"] for s in run["scenarios"] if s["key"] == key)
            names = [name for name in TARGET_NAMES if name in figures[key]]
            for name in names:
                row = figures[key][name]
                errors = row["errors"] + row["warmup_errors"]
                label = f"{key} {title_of}" if name == names[0] else ""
                lines.append(
                    f"| {label} | {name} | "
                    f"{_number(row['rps'])} | {_number(row['p50_ms'])} | "
                    f"{_number(row['p99_ms'])} | {errors} | "
                    f"{_number(row['rss_max_mb'], 0)} | "
                    f"{_number(row['worker_cpu_ms'], 2)} | "
                    f"{_number(row['postgres_cpu_ms'], 2)} | "
                    f"{_measured(row['statements_wire'])} | "
                    f"{_share(row['python_share'])} | "
                    f"{_share(row['serialization_share'])} |"
                )
            for name, label in COMPARED.items():
                if name not in figures[key]:
                    continue
                compared = figures[key][name]
                lines.append(
                    f"| | **{label}** | **{_ratio(compared['rps_ratio'])}** | "
                    f"| **{_ratio(compared['p99_ratio'])}** | | | | | | | |"
                )
        lines += ["", *_writes(keys, figures)]
    return lines


def _writes(keys: list[str], figures: dict[str, Any]) -> list[str]:
    """What the writer committed during the measured runs of these scenarios."""
    lines = []
    for key in keys:
        written = {
            name: figures[key][name]["writes_committed"]
            for name in TARGET_NAMES
            if name in figures[key]
        }
        if any(written.values()):
            each = ", ".join(f"{name} {count:,}" for name, count in written.items())
            lines += [
                f"{key}: writes committed during the measured runs: {each}. Each "
                "made the fleet's kept answers stale: after it, each worker "
                "computed the answer again (identical requests arriving "
                "meanwhile wait for that computation).",
                "",
            ]
    return lines


def _targets(run: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    lines = ["## Targets of issue #7", ""]
    if run["dataset"]["facts"]["support_tickets"] != TARGETS_AT:
        lines += [
            f"The targets are set for {TARGETS_AT:,} tickets; at this size "
            "they are shown for information only.",
            "",
        ]
    lines += [
        "| scenario | target | measured | limit | verdict |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['scenario']} | {row['label']} | {_measured(row['measured'])} | "
            f"{row['limit']} | {'met' if row['met'] else '**not met**'} |"
        )
    return [*lines, ""]


def _cpu_split(run: dict[str, Any], figures: dict[str, Any]) -> list[str]:
    lines = [
        "## CPU split during each run",
        "",
        "CPU seconds over the measured run. Workers: the two uvicorn workers, "
        "with each one's share (load is spread when both are near 50%). "
        "PostgreSQL: the backends serving that target. Other: everything "
        "else busy on the machine meanwhile (other work, the idle target, "
        "PostgreSQL's background processes). Backends: distinct PostgreSQL "
        "backends seen serving the target; more than the pools' 2 x 10 means "
        "connections were opened during the run. Drain: seconds the target's "
        "queries went on after wrk stopped (the bench waits for them).",
        "",
        "| scenario | target | requests | workers CPU s (split) | PostgreSQL CPU s "
        "(backends) | wrk CPU s | other CPU s | machine busy | drain s |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    cores = run["machine"]["cores"]
    uneven = []
    for key, per in figures.items():
        for name in (name for name in TARGET_NAMES if name in per):
            row = per[name]
            split = " / ".join(f"{share:.0%}" for share in row["worker_split"])
            busy = row["machine_busy_cpu_s"] / (row["wall_s"] * cores)
            lines.append(
                f"| {key} | {name} | {row['requests']:,} | "
                f"{_number(row['worker_cpu_s'])} ({split}) | "
                f"{_number(row['postgres_cpu_s'])} ({row['postgres_backends']}) | "
                f"{_number(row['wrk_cpu_s'])} | {_number(row['other_cpu_s'])} | "
                f"{busy:.0%} | {row['drain_s']:.1f} |"
            )
            if max(row["worker_split"], default=0) > UNEVEN_SPLIT:
                uneven.append(f"{key} {name} ({split})")
    if uneven:
        lines += [
            "",
            f"Load was not spread over both workers in: {', '.join(uneven)}. "
            "uvicorn's workers share one listening socket and accept "
            "connections as they wake; wrk opens its keep-alive connections "
            "at once, so one worker may hold most of them for a whole run. "
            "That run's req/s and latencies are those of about one worker.",
        ]
    return [*lines, ""]


def _statements(run: dict[str, Any], figures: dict[str, Any]) -> list[str]:
    lines = [
        "## SQL statements per request",
        "",
        "Counted in-process on the two requests of each scenario: the first "
        "computes its answer, the second repeats it (the load measures "
        "repeats). *SQLAlchemy*: statements the service sends through its "
        "engine (`before_cursor_execute`). *Wire*: statements asyncpg executed "
        "on PostgreSQL, everything included (BEGIN, COMMIT, the pool's "
        "pre-ping and connection reset).",
        "",
        "| scenario | service, computed (SQLAlchemy / wire) | service, reused "
        "(SQLAlchemy / wire) | uncached (wire) | raw reference (wire) |",
        "|---|--:|--:|--:|--:|",
    ]
    for key, per in figures.items():
        service = per["service"]
        uncached = per.get("uncached", {})
        lines.append(
            f"| {key} | {_measured(service['first_statements_sqlalchemy'])} / "
            f"{_measured(service['first_statements_wire'])} | "
            f"{_measured(service['statements_sqlalchemy'])} / "
            f"{_measured(service['statements_wire'])} | "
            f"{_measured(uncached.get('statements_wire'))} | "
            f"{_measured(per['raw']['statements_wire'])} |"
        )
    for field, kind in (
        ("service_first_statements", "computing"),
        ("service_statements", "reusing"),
    ):
        texts = run.get(field, [])
        if texts:
            lines += ["", f"The service's statements for S1, {kind}, in order:", ""]
            lines += [f"1. `{' '.join(text.split())[:160]}`" for text in texts]
    return [*lines, ""]


def _profiles(run: dict[str, Any]) -> list[str]:
    lines = [
        "## Where the time goes (pyinstrument, in-process)",
        "",
        "Sequential requests through httpx's ASGI transport (no uvicorn, no "
        "network). *Python share*: time the request task was running Python "
        "rather than awaiting PostgreSQL; it includes the httpx client's own "
        "small cost. Hot spots: exclusive Python time, as a share of the whole "
        "request time. *Serialization*: time inside the functions that turn "
        "results into the body (bench/inprocess.py, SERIALIZERS). The "
        "profiler samples wall time: on a busy machine, "
        "time spent waiting for a CPU is counted where the process was "
        "interrupted (built-ins like `socket.send` then rank high), so read "
        "the Python share next to the process's CPU share.",
        "",
    ]
    for scenario in run["scenarios"]:
        for name in TARGET_NAMES:
            profile = scenario["inspection"].get(name, {}).get("profile") or {}
            if not profile:
                continue
            lines.append(
                f"- **{scenario['key']} {name}**: {profile['requests']} requests, "
                f"{profile['wall_ms_per_request']:.1f} ms each, Python "
                f"{_share(profile['python_share'])} "
                f"({profile['python_ms_per_request']:.1f} ms), serialization "
                f"{_share(profile.get('serialization_share'))}, process CPU "
                f"{_share(profile['cpu_share'])} of wall time"
            )
            if name in COMPARED:
                packages = ", ".join(
                    f"{item['package']} {item['share']:.0%}"
                    for item in profile["packages"][:6]
                )
                lines.append(f"  - by package: {packages}")
                for spot in profile["hot_spots"][:5]:
                    lines.append(f"  - {spot['share']:.1%} `{spot['where']}`")
    plans = [
        (s["key"], s["inspection"].get("service", {}).get("plan"))
        for s in run["scenarios"]
    ]
    for key, plan in plans:
        if plan:
            lines += [
                "",
                f"The service's plan for {key} when it computes the answer "
                "(EXPLAIN, no ANALYZE):",
                "",
            ]
            lines += ["```", plan, "```"]
    return [*lines, ""]


def markdown(run: dict[str, Any]) -> str:
    figures = numbers(run)
    rows = verdicts(run, figures)
    facts = run["dataset"]["facts"]
    lines = [
        f"# List benchmark: {facts['support_tickets']:,} tickets, {run['started']}",
        "",
    ]
    if run.get("note"):
        lines += [f"> {run['note']}", ""]
    lines += [
        f"`make bench N={run['settings']['tickets']} "
        f"DURATION={run['settings']['duration']:g}`; total run time "
        f"{run['elapsed_s'] / 60:.1f} min. Service: this repository at "
        f"{run['commit']}.",
        "",
    ]
    lines += _machine(run)
    lines += _dataset(run, figures)
    lines += _settings(run)
    lines += _targets(run, rows)
    lines += _group_tables(run, figures)
    lines += _cpu_split(run, figures)
    lines += _statements(run, figures)
    lines += _profiles(run)
    return "\n".join(lines)


def failed_requests(run: dict[str, Any], names: tuple[str, ...] = TARGET_NAMES) -> int:
    """Failed requests of the named targets, over every scenario."""
    figures = numbers(run)
    return sum(
        per[name]["errors"] + per[name]["warmup_errors"]
        for per in figures.values()
        for name in names
        if name in per
    )
