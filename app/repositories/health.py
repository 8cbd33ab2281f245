"""The query behind the readiness probe."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def select_one(session: AsyncSession) -> None:
    """A round trip to the server that touches no table."""
    await session.execute(text("SELECT 1"))
