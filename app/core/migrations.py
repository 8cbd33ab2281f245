"""Running Alembic from code: the CLI's `migrate` and the tests use this."""

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL

# The checkout: alembic.ini and migrations/ sit beside the package.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class MigrationsNotFound(RuntimeError):
    """No alembic.ini where the service looks for it."""


def alembic_ini() -> Path:
    """alembic.ini of the checkout, or the one ALEMBIC_CONFIG names.

    A non-editable install (the container image) has no checkout around the
    package; there ALEMBIC_CONFIG, the variable Alembic's own command line
    reads, points at the copy shipped beside it.
    """
    configured = os.environ.get("ALEMBIC_CONFIG")
    path = Path(configured) if configured else PROJECT_ROOT / "alembic.ini"
    if not path.is_file():
        raise MigrationsNotFound(
            f"alembic.ini not found at {path}; set ALEMBIC_CONFIG to its path"
        )
    return path


def alembic_config(database_url: URL) -> Config:
    # script_location in the file is relative to the file itself (%(here)s).
    config = Config(alembic_ini())
    config.attributes["database_url"] = database_url
    # The caller's logging set-up stays in charge.
    config.attributes["configure_logger"] = False
    return config


def upgrade_to_head(database_url: URL) -> None:
    """Apply every migration. Blocking: it runs its own event loop."""
    command.upgrade(alembic_config(database_url), "head")


def downgrade_to_base(database_url: URL) -> None:
    command.downgrade(alembic_config(database_url), "base")
