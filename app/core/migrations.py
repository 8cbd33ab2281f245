"""Running Alembic from code: the CLI's `migrate` and the tests use this."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: URL) -> Config:
    config = Config(PROJECT_ROOT / "alembic.ini")
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    # The caller's logging set-up stays in charge.
    config.attributes["configure_logger"] = False
    return config


def upgrade_to_head(database_url: URL) -> None:
    """Apply every migration. Blocking: it runs its own event loop."""
    command.upgrade(alembic_config(database_url), "head")


def downgrade_to_base(database_url: URL) -> None:
    command.downgrade(alembic_config(database_url), "base")
