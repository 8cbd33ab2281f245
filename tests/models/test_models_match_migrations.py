"""The models and the migrations describe the same schema."""

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models import Base


def _declared_in_models(name: str | None, kind: str, *_: Any) -> bool:
    # Trigram indexes exist only where pg_trgm does (migration 0002).
    return not (kind == "index" and name is not None and name.startswith("trgm_"))


async def test_the_migrated_schema_is_the_models_schema(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(
                    sync, opts={"include_name": _declared_in_models}
                ),
                Base.metadata,
            )
        )

    assert differences == []
