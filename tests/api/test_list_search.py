"""search=: DRF's term splitting, every term must match one of the fields."""

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.schemas.ticket_query import split_search_terms
from tests.factories import bearer, make_fleet, make_ticket, make_token, make_user

LIST = "/v2/support-tickets/"


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("toll", ("toll",)),
        ("  toll   bridge ", ("toll", "bridge")),
        ("toll,bridge", ("toll", "bridge")),
        ("toll, bridge,,", ("toll", "bridge")),
        ('"gate 4" refund', ("gate 4", "refund")),
        ("'gate 4' refund", ("gate 4", "refund")),
        ("'gate 4',refund", ("'gate 4'", "refund")),
        (r'"say \"hi\""', ('say "hi"',)),
        ('"a, b"', ("a, b",)),
        ('"unclosed phrase', ('"unclosed', "phrase")),
        ("it's mine", ("it's", "mine")),
        ("", ()),
        (",,,", ()),
    ],
)
def test_search_text_splits_into_terms(text: str, terms: tuple[str, ...]) -> None:
    assert split_search_terms(text) == terms


@pytest.fixture
async def searchable(session: AsyncSession) -> tuple[str, dict[str, int]]:
    fleet = await make_fleet(session)
    staff = await make_user(session, "agent", staff=True)
    creator = await make_user(session, "fleetops_jane", fleets=[fleet])
    other = await make_user(session, "carrier_bob", fleets=[fleet])

    async def ticket(name: str, **kwargs: object) -> tuple[str, int]:
        made = await make_ticket(session, fleet, kwargs.pop("by", other), **kwargs)  # type: ignore[arg-type]
        return name, made.id

    ids = dict(
        [
            await ticket("bridge", description="Charged twice at the Bay Bridge"),
            await ticket("note", description="x", resolution_note="Refund: 100%_ok"),
            await ticket("creator", description="y", by=creator),
            await ticket(
                "comments",
                description="z",
                comments=[(staff, "Camera shows the BRIDGE"), (staff, "bridge again")],
            ),
            await ticket("gate", description="Wrong plate at gate 4, lane 2"),
            await ticket("backslash", description=r"path C:\tolls\march"),
        ]
    )
    return await make_token(session, staff), ids


async def _search(
    client: httpx.AsyncClient, searchable: tuple[str, dict[str, int]], text: str
) -> list[str]:
    token, ids = searchable
    response = await client.get(LIST, params={"search": text}, headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    by_id = {ticket_id: name for name, ticket_id in ids.items()}
    names = [by_id.get(t["id"], str(t["id"])) for t in body["results"]]
    assert body["count"] == len(names)
    return names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bridge", {"bridge", "comments"}),
        ("BrIdGe", {"bridge", "comments"}),
        ("refund", {"note"}),
        ("fleetops_jane", {"creator"}),
        ("JANE@EXAMPLE.COM", {"creator"}),
        ('"gate 4"', {"gate"}),
        ('"4 gate"', set()),
        ("gate plate", {"gate"}),
        ("gate,bridge", set()),
        ("bay twice", {"bridge"}),
        ("100%", {"note"}),
        ("%", {"note"}),
        ("_ok", {"note"}),
        ("0%_o", {"note"}),
        ("Bay_Bridge", set()),
        ("\\tolls", {"backslash"}),
        ("nowhere", set()),
    ],
)
async def test_every_term_must_match_some_field(
    client: httpx.AsyncClient,
    searchable: tuple[str, dict[str, int]],
    text: str,
    expected: set[str],
) -> None:
    assert set(await _search(client, searchable, text)) == expected


async def test_a_ticket_matched_by_several_comments_counts_once(
    client: httpx.AsyncClient, searchable: tuple[str, dict[str, int]]
) -> None:
    names = await _search(client, searchable, "camera bridge")

    assert names == ["comments"]


async def test_digits_also_match_the_ticket_id(
    client: httpx.AsyncClient, searchable: tuple[str, dict[str, int]]
) -> None:
    _, ids = searchable
    names = await _search(client, searchable, str(ids["gate"]))

    assert "gate" in names


async def test_a_huge_number_matches_text_only(
    client: httpx.AsyncClient, searchable: tuple[str, dict[str, int]]
) -> None:
    assert await _search(client, searchable, "9" * 25) == []
