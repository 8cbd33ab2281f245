"""The admin command line: `support-tickets COMMAND` or `python -m app COMMAND`.

Built on argparse from the standard library: a dozen subcommands with plain
options need nothing more, and the tool starts fast without another
framework to import. This module only parses arguments and reports errors;
the commands are in app.cli.commands, the rules in app.services.

For scripts: a command that creates something prints its id, or the token,
alone on the last line of standard output; everything else goes to standard
error. A refused command prints one line on standard error and exits 1 (2
for malformed arguments), leaving the database as it was: every command is
one transaction.
"""

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from alembic.util import CommandError as MigrationError
from sqlalchemy.exc import DBAPIError

from app.cli import commands
from app.core.embedded import EmbeddedUnavailable
from app.core.errors import AppError
from app.core.migrations import MigrationsNotFound
from app.core.settings import get_settings

PROG = "support-tickets"
# PostgreSQL's code for "relation does not exist": the schema is missing.
UNDEFINED_TABLE = "42P01"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line instead of argparse's usage block, for scripts' logs."""
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _whole_number(text: str) -> int:
    """An integer; ranges are the services' rules, checked there."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number, got {text!r}"
        ) from None


def _workers(text: str) -> int:
    workers = _whole_number(text)
    if not 1 <= workers <= 64:
        raise argparse.ArgumentTypeError(f"workers are 1 to 64, got {workers}")
    return workers


def _port(text: str) -> int:
    port = _whole_number(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, got {port}")
    return port


def _add_address_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--host", help="address to listen on (default: HOST)")
    command.add_argument("--port", type=_port, help="port to listen on (default: PORT)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Run and administer the support-tickets service. Without "
        "DATABASE_URL, a private PostgreSQL in .data/postgres is used.",
    )
    subcommands = parser.add_subparsers(
        title="commands", required=True, metavar="COMMAND"
    )

    run = subcommands.add_parser(
        "run",
        help="serve on HOST:PORT with demo data and fresh demo tokens",
        description="Apply migrations, load demo data on the first start, "
        "print demo tokens and serve until Ctrl-C.",
    )
    _add_address_arguments(run)
    run.set_defaults(handler=commands.run)

    serve = subcommands.add_parser(
        "serve",
        help="serve DATABASE_URL as deployed (migrate first, separately)",
        description="Serve on HOST:PORT until SIGTERM or Ctrl-C, letting "
        "requests in flight finish. Several workers each take their own "
        "share of new connections.",
    )
    _add_address_arguments(serve)
    serve.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="worker processes (default 1: scale with containers)",
    )
    serve.set_defaults(handler=commands.serve_command)

    migrate = subcommands.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(handler=commands.migrate)

    seed = subcommands.add_parser(
        "seed",
        help="load deterministic demo data into an empty database",
        description="Fill an empty database with N tickets and their fleets, "
        "users, entities, comments and history; the same arguments give the "
        "same data.",
    )
    seed.add_argument("--tickets", type=_whole_number, required=True, metavar="N")
    seed.add_argument("--seed", type=_whole_number, default=1, metavar="S")
    seed.add_argument(
        "--fleets", type=_whole_number, help="default: N/50, from 3 to 200"
    )
    seed.add_argument(
        "--users", type=_whole_number, help="default: N/5, from 10 to 2000"
    )
    seed.set_defaults(handler=commands.seed)

    create_fleet = subcommands.add_parser(
        "create-fleet", help="create a fleet; prints its id"
    )
    create_fleet.add_argument("name")
    create_fleet.set_defaults(handler=commands.create_fleet)

    create_user = subcommands.add_parser(
        "create-user", help="create a user; prints its id"
    )
    create_user.add_argument("username")
    create_user.add_argument("email")
    create_user.add_argument(
        "--staff", action="store_true", help="support staff: sees every fleet"
    )
    create_user.add_argument(
        "--fleet",
        type=_whole_number,
        action="append",
        default=[],
        metavar="ID",
        dest="fleets",
        help="a fleet the user acts for (repeat for several)",
    )
    create_user.set_defaults(handler=commands.create_user)

    deactivate_user = subcommands.add_parser(
        "deactivate-user", help="stop a user from signing in"
    )
    deactivate_user.add_argument("username")
    deactivate_user.set_defaults(handler=commands.deactivate_user)

    create_token = subcommands.add_parser(
        "create-token", help="issue an API token; prints it (shown only once)"
    )
    create_token.add_argument("username")
    create_token.add_argument("--name", default="", help="what the token is for")
    create_token.add_argument(
        "--expires-in", type=_whole_number, metavar="DAYS", help="default: never"
    )
    create_token.set_defaults(handler=commands.create_token)

    list_tokens = subcommands.add_parser(
        "list-tokens", help="list a user's tokens (never their secrets)"
    )
    list_tokens.add_argument("username")
    list_tokens.set_defaults(handler=commands.list_tokens)

    revoke_token = subcommands.add_parser(
        "revoke-token", help="revoke the token with this prefix"
    )
    revoke_token.add_argument(
        "prefix", metavar="PREFIX", help="stk_xxxxxxxx or the whole token"
    )
    revoke_token.set_defaults(handler=commands.revoke_token)
    return parser


def _database_problem(error: DBAPIError) -> str:
    if getattr(error.orig, "sqlstate", None) == UNDEFINED_TABLE:
        return "the database has no tables yet: run `support-tickets migrate` first"
    cause = str(error.orig or error).strip().splitlines()
    return "database error: " + (cause[0] if cause else type(error).__name__)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    try:
        result: int = args.handler(args, settings)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except AppError as error:
        problem = error.detail
    except (
        commands.CommandRefused,
        EmbeddedUnavailable,
        MigrationError,
        MigrationsNotFound,
    ) as error:
        problem = str(error)
    except DBAPIError as error:
        problem = _database_problem(error)
    except OSError as error:
        problem = f"cannot reach the database: {error}"
    else:
        return result
    print(f"{PROG}: {problem}", file=sys.stderr)
    return 1
