"""The scenarios of issue #7 and the targets the results are judged against."""

from dataclasses import dataclass
from urllib.parse import urlencode

LIST = "/v2/support-tickets/"
# A word of the seed's description vocabulary that is no part of another
# word, comment or note: it matches the ~10% of tickets whose description
# drew it, a typical frequency for a word of that vocabulary.
DEFAULT_SEARCH_WORD = "turnpike"
FILTERED_STATUS = "OPEN"
FILTERED_REASON = "WRONG_VEHICLE"
# S8: each write makes every kept answer of the fleet stale.
WRITES_PER_SECOND = 10


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    group: str
    caller: str  # "staff" or "fleet"
    query: dict[str, str]
    explain: bool = False  # keep the service's query plan for the report
    # Changes committed per second to tickets of the fleet user's fleet
    # while the scenario runs (bench/writer.py); 0: none.
    writes_per_second: float = 0

    @property
    def path(self) -> str:
        return f"{LIST}?{urlencode(self.query)}" if self.query else LIST


def scenarios(tickets: int, fleet_id: int, search_word: str) -> list[Scenario]:
    offset = tickets // 2
    return [
        Scenario("S1", "default page (limit 100), staff", "pages", "staff", {}),
        Scenario(
            "S2",
            f"fleet {fleet_id} + status {FILTERED_STATUS}, limit 50",
            "pages",
            "staff",
            {"fleet": str(fleet_id), "status": FILTERED_STATUS, "limit": "50"},
        ),
        Scenario(
            "S3",
            f"search '{search_word}', limit 20",
            "search",
            "staff",
            {"search": search_word, "limit": "20"},
            explain=True,
        ),
        Scenario(
            "S4",
            f"offset {offset:,}, ordering -updated_at",
            "offset",
            "staff",
            {"offset": str(offset), "ordering": "-updated_at"},
            explain=True,
        ),
        Scenario(
            "S5",
            f"reason {FILTERED_REASON}, ordering created_at",
            "pages",
            "staff",
            {"reason": FILTERED_REASON, "ordering": "created_at"},
        ),
        Scenario("S6", "fleet user's token, default page", "pages", "fleet", {}),
        Scenario("S7", "limit 1000, staff", "large page", "staff", {"limit": "1000"}),
        Scenario(
            "S8",
            f"S6 while {WRITES_PER_SECOND:g} writes/s change the fleet's tickets",
            "under writes",
            "fleet",
            {},
            writes_per_second=WRITES_PER_SECOND,
        ),
    ]


GROUPS = {
    "pages": "Filtered pages (S1, S2, S5, S6)",
    "search": "Search (S3)",
    "offset": "Deep offset (S4)",
    "large page": "Large page (S7)",
    "under writes": "Under writes (S8, no target: how the list cache fares)",
}


@dataclass(frozen=True)
class Target:
    """One threshold of the issue, on one measured quantity of one scenario."""

    scenario: str
    measure: str  # a key of the per-scenario numbers the report computes
    label: str
    limit: float
    at_least: bool  # True: measured >= limit; False: measured <= limit


TARGETS = [
    *(
        target
        for key in ("S1", "S2", "S5", "S6")
        for target in (
            Target(key, "rps_ratio", "req/s vs raw reference", 3.0, at_least=True),
            Target(key, "p99_ms", "p99 (ms)", 100.0, at_least=False),
        )
    ),
    Target("S3", "p99_ms", "p99 (ms)", 300.0, at_least=False),
    Target(
        "S3", "trigram_used", "trigram index in the plan (1 = yes)", 1, at_least=True
    ),
    Target("S4", "p99_ms", "p99 (ms)", 300.0, at_least=False),
    Target("S7", "p99_ms", "p99 (ms)", 400.0, at_least=False),
    Target("S7", "rss_max_mb", "RSS per worker under load (MB)", 150.0, at_least=False),
]
# Statements per request must be "a small constant, whatever the page size":
# the report requires the same count for every scenario, and at most this.
MAX_STATEMENTS = 10
# "Serialization must not dominate": the share of the request time spent
# turning results into the response body (Python's whole share is reported
# beside it: where the database does almost nothing, Python is most of the
# time without serialization being any of it).
MAX_SERIALIZATION_SHARE = 0.5
