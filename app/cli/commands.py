"""The admin commands: each opens the database, calls a service, reports.

Each command writes its data in one transaction: a refusal raised by a
service rolls back whatever the command had written. Results meant for
scripts (a new id, a new token, a listing) go to standard output; notes go
to standard error.
"""

import argparse
import asyncio
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.database import create_engine, create_sessionmaker
from app.core.embedded import data_dir, database_url
from app.core.migrations import upgrade_to_head
from app.core.server import serve
from app.core.settings import Settings
from app.repositories.seed import SeedSize
from app.services import accounts, demo
from app.services import seed as seed_service
from app.services.accounts import TokenListing
from app.services.demo import DemoAccess
from app.services.seed import SeedRequest

T = TypeVar("T")


class CommandRefused(Exception):
    """The command cannot go ahead; the message says why, in one line."""


def _note(message: str) -> None:
    print(message, file=sys.stderr)


def _result(value: object) -> None:
    """The one line a script captures: the last line of standard output."""
    print(value, flush=True)


@contextmanager
def _database(settings: Settings, *, announce: bool = False) -> Iterator[Settings]:
    """Settings whose DATABASE_URL is the server to use, started if need be."""
    if announce and settings.database_url is None:
        _note(f"using the embedded PostgreSQL in {data_dir(settings)}")
    with database_url(settings) as url:
        yield settings.model_copy(
            update={"database_url": url.render_as_string(hide_password=False)}
        )


async def _in_transaction(
    settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            return await work(session)
    finally:
        await engine.dispose()


def _transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    with _database(settings) as connected:
        return asyncio.run(_in_transaction(connected, work))


def migrate(args: argparse.Namespace, settings: Settings) -> int:
    with _database(settings, announce=True) as connected:
        upgrade_to_head(connected.async_database_url)
    _note("migrations applied: the database schema is up to date")
    return 0


async def _load_and_analyze(settings: Settings, size: SeedSize) -> None:
    engine = create_engine(settings, bulk=True)
    try:
        started = time.monotonic()
        async with create_sessionmaker(engine)() as session, session.begin():
            await seed_service.load_demo_data(session, size)
        loaded = time.monotonic()
        _note(
            f"loaded {size.tickets:,} tickets, {size.fleets:,} fleets and "
            f"{size.users:,} users ({size.staff:,} staff) with seed {size.seed} "
            f"in {loaded - started:.1f} s; vacuuming and analyzing"
        )

        # VACUUM refuses to run inside a transaction block.
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(
                isolation_level="AUTOCOMMIT"
            )
            await seed_service.refresh_statistics(autocommit)
        _note(f"statistics refreshed in {time.monotonic() - loaded:.1f} s")
    finally:
        await engine.dispose()


def seed(args: argparse.Namespace, settings: Settings) -> int:
    size = seed_service.seed_size(
        SeedRequest(
            tickets=args.tickets, seed=args.seed, fleets=args.fleets, users=args.users
        )
    )
    with _database(settings, announce=True) as connected:
        upgrade_to_head(connected.async_database_url)
        asyncio.run(_load_and_analyze(connected, size))
    return 0


def create_fleet(args: argparse.Namespace, settings: Settings) -> int:
    fleet_id = _transaction(
        settings, lambda session: accounts.create_fleet(session, args.name)
    )
    _note(f"created fleet {fleet_id}")
    _result(fleet_id)
    return 0


def create_user(args: argparse.Namespace, settings: Settings) -> int:
    user_id = _transaction(
        settings,
        lambda session: accounts.create_user(
            session,
            args.username,
            args.email,
            is_staff=args.staff,
            fleet_ids=args.fleets,
        ),
    )
    role = "staff user" if args.staff else "user"
    _note(f"created {role} {args.username} with id {user_id}")
    _result(user_id)
    return 0


def deactivate_user(args: argparse.Namespace, settings: Settings) -> int:
    changed = _transaction(
        settings, lambda session: accounts.deactivate_user(session, args.username)
    )
    if changed:
        _note(f"deactivated {args.username}: their tokens no longer work")
    else:
        _note(f"{args.username} was already deactivated")
    return 0


def _when(moment: datetime | None, *, missing: str) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else missing


def create_token(args: argparse.Namespace, settings: Settings) -> int:
    created = _transaction(
        settings,
        lambda session: accounts.create_token(
            session, args.username, name=args.name, expires_in_days=args.expires_in
        ),
    )
    expiry = _when(created.expires_at, missing="never")
    _note(
        f"token {created.prefix} for {created.username}, expires: {expiry}. "
        "It is shown only this once."
    )
    _result(created.token)
    return 0


def _token_table(tokens: list[TokenListing]) -> list[str]:
    header = ("PREFIX", "NAME", "CREATED", "LAST USED", "EXPIRES", "STATE")
    rows = [
        (
            token.prefix,
            token.name or "-",
            _when(token.created_at, missing="-"),
            _when(token.last_used_at, missing="never"),
            _when(token.expires_at, missing="never"),
            token.state.value,
        )
        for token in tokens
    ]
    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(6)]
    return [
        "  ".join(
            cell.ljust(width) for cell, width in zip(row, widths, strict=True)
        ).rstrip()
        for row in (header, *rows)
    ]


def list_tokens(args: argparse.Namespace, settings: Settings) -> int:
    tokens = _transaction(
        settings, lambda session: accounts.list_tokens(session, args.username)
    )
    if not tokens:
        _note(f"{args.username} has no tokens")
        return 0
    for line in _token_table(tokens):
        print(line)
    return 0


def revoke_token(args: argparse.Namespace, settings: Settings) -> int:
    revoked = _transaction(
        settings, lambda session: accounts.revoke_token(session, args.prefix)
    )
    if revoked.was_already_revoked:
        _note(f"token {revoked.prefix} of {revoked.username} was already revoked")
    else:
        _note(f"revoked token {revoked.prefix} of {revoked.username}")
    return 0


def _banner(base_url: str, access: DemoAccess) -> str:
    lines = [
        "",
        "Support tickets is starting"
        + (" (demo data loaded on this first start)." if access.loaded_data else "."),
        f"  API explorer:  {base_url}/docs",
    ]
    tokens = [
        (label, created)
        for label, created in (
            ("staff", access.staff_token),
            ("fleet user", access.fleet_token),
        )
        if created is not None
    ]
    if not tokens:
        lines.append(
            "  This database has no demo accounts (it was not filled by `run`);"
            " issue a token with: support-tickets create-token USERNAME"
        )
    for label, created in tokens:
        lines.append(f"  Token of {label} {created.username}:  {created.token}")
    if tokens:
        example = tokens[-1][1].token
        lines += [
            "  Try it:",
            f"    curl -H 'Authorization: Bearer {example}'"
            f" '{base_url}/v2/support-tickets/?limit=2'",
            "  Demo tokens are replaced on every start. Stop with Ctrl-C.",
        ]
    return "\n".join([*lines, ""])


def _public_base_url(host: str, port: int) -> str:
    if host in ("0.0.0.0", "::"):  # noqa: S104 - only to print a usable URL
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _check_free(host: str, port: int) -> None:
    """Refuse early, before the demo tokens of a running instance are replaced."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As uvicorn does: connections of a previous run still closing
        # (TIME_WAIT) do not keep the port busy.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise CommandRefused(
                f"cannot listen on {host}:{port}: {error.strerror or error}"
            ) from None


def _free_address(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    """HOST and PORT, overridden by --host and --port, checked to be free."""
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    _check_free(host, port)
    return host, port


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until Ctrl-C (or SIGTERM), then stop the embedded server too."""
    if "log_format" not in settings.model_fields_set:
        # A person is reading: readable lines unless LOG_FORMAT says otherwise.
        settings = settings.model_copy(update={"log_format": "console"})
    host, port = _free_address(args, settings)
    # Before uvicorn takes over the signals (migrations, demo data), SIGTERM
    # unwinds like Ctrl-C, through the embedded server's clean-up.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with _database(settings, announce=True) as connected:
        upgrade_to_head(connected.async_database_url)
        access = asyncio.run(_in_transaction(connected, demo.prepare_demo))
        print(_banner(_public_base_url(host, port), access), flush=True)
        # Returns after a graceful shutdown on SIGINT or SIGTERM.
        serve(connected, host=host, port=port)
    return 0


def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    """Serve DATABASE_URL's database as deployed: no migrations, no demo data."""
    if settings.database_url is None:
        raise CommandRefused("serve needs DATABASE_URL; `run` starts a local server")
    host, port = _free_address(args, settings)
    serve(settings, host=host, port=port, workers=args.workers)
    return 0
