"""Backends of the service terminated from the database side, as a failover would.

Whatever a request was doing when its connection was ended, it answers 503
problem+json or succeeds, never 500, and the requests after it succeed.
"""

import asyncio
from collections import Counter

from sqlalchemy.engine import URL

from app.core.settings import Settings
from app.main import create_app
from tests.factories import bearer
from tests.operations.helpers import client_for, commit_user_with_token, running
from tests.operations.test_database_failures import terminate_service_backends

LIST = "/v2/support-tickets/"


async def test_reads_on_the_drivers_path_answer_503_when_their_backend_ends(
    fault_database: URL,
) -> None:
    # Found by the fault suite: the list and the token lookup run on asyncpg
    # directly, and a connection ended mid-operation raised asyncpg's
    # InternalClientError, which no handler knew: 500.
    token = await commit_user_with_token(fault_database, tickets=3)
    settings = Settings(
        database_url=fault_database.render_as_string(hide_password=False),
        database_pool_size=4,
        database_max_overflow=0,
        log_level="ERROR",
    )
    statuses: Counter[int] = Counter()
    kinds: set[str] = set()
    reading = True

    async with running(create_app(settings)) as app, client_for(app) as client:

        async def read_until_told() -> None:
            while reading:
                response = await client.get(LIST, headers=bearer(token))
                statuses[response.status_code] += 1
                if response.status_code != 200:
                    kinds.add(response.headers["content-type"])

        readers = [asyncio.create_task(read_until_told()) for _ in range(4)]
        for _ in range(20):
            await asyncio.sleep(0.1)
            await terminate_service_backends(fault_database)
        reading = False
        await asyncio.gather(*readers)
        after = [
            (await client.get(LIST, headers=bearer(token))).status_code
            for _ in range(8)
        ]

    assert set(statuses) <= {200, 503}, statuses
    assert kinds <= {"application/problem+json"}
    assert statuses[200] > 0
    assert after == [200] * 8
