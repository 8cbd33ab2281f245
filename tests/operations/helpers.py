"""Helpers for the operations tests: in-process clients, apps run, rows committed."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from tests.factories import make_fleet, make_ticket, make_token, make_user

DEMO_TICKETS = 3


@dataclass(frozen=True)
class DemoDatabase:
    """A database of its own whose rows are committed, for real servers."""

    url: URL
    token: str


async def commit_user_with_token(url: URL, *, tickets: int = 0) -> str:
    """A fleet member with a fresh token (never used) and some tickets."""
    engine = create_async_engine(url.set(drivername="postgresql+asyncpg"))
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            fleet = await make_fleet(session)
            user = await make_user(session, fleets=[fleet])
            for _ in range(tickets):
                await make_ticket(session, fleet, user)
            return await make_token(session, user)
    finally:
        await engine.dispose()


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[FastAPI]:
    """The app with its lifespan run: a real engine built from its settings."""
    async with app.router.lifespan_context(app):
        yield app


def client_for(app: FastAPI, client: str = "127.0.0.1") -> httpx.AsyncClient:
    """An in-process client, calling from `client` (a loopback one by default)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(client, 40000)),
        base_url="http://testserver",
    )


def events(lines: list[str], name: str) -> list[dict[str, Any]]:
    """The JSON log lines of one event."""
    parsed = [json.loads(line) for line in lines]
    return [entry for entry in parsed if entry.get("event") == name]
