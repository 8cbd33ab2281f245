"""Prometheus metrics: requests by route template, and the database pool.

Each app owns its registry, so that building several apps in one process
(tests) never mixes their numbers.

One process per container: prometheus-client keeps metrics in the memory
of the process that counts them, so behind several uvicorn workers each
scrape would see one worker only. Scale with replicas instead; running
several workers would need PROMETHEUS_MULTIPROC_DIR and its collector.
"""

from collections.abc import Iterable
from ipaddress import ip_address
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy.pool import Pool, QueuePool

from app.core.database import ConnectionWaits
from app.core.settings import Network

METRICS_MEDIA_TYPE = CONTENT_TYPE_LATEST

# Requests that matched no route share one label value, so that scanning
# random paths cannot grow the number of time series.
UNMATCHED_ROUTE = "unmatched"


class DatabasePoolCollector:
    """Reads the pool's state when Prometheus scrapes, not on every request."""

    def __init__(self, pool: QueuePool, waits: ConnectionWaits) -> None:
        self.pool = pool
        self.waits = waits

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "db_pool_connections_in_use",
            "Database connections checked out of the pool.",
            value=self.pool.checkedout(),
        )
        yield GaugeMetricFamily(
            "db_pool_connections_idle",
            "Open database connections waiting in the pool.",
            value=self.pool.checkedin(),
        )
        yield GaugeMetricFamily(
            "db_pool_waiting_requests",
            "Requests waiting for a database connection.",
            value=self.waits.current,
        )


class ListCacheStatistics(Protocol):
    """What the list cache (app/api/list_cache.py) tells about itself."""

    @property
    def reused(self) -> int: ...
    @property
    def computed(self) -> int: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def entries(self) -> int: ...


class ListCacheCollector:
    def __init__(self, cache: ListCacheStatistics) -> None:
        self.cache = cache

    def collect(self) -> Iterable[Metric]:
        yield CounterMetricFamily(
            "list_cache_reused_answers",
            "List requests answered with a kept answer that was still current.",
            value=self.cache.reused,
        )
        yield CounterMetricFamily(
            "list_cache_computed_answers",
            "List requests the cache could not answer and the app computed.",
            value=self.cache.computed,
        )
        yield GaugeMetricFamily(
            "list_cache_bytes",
            "Bytes the kept list answers take, as the cache counts them.",
            value=self.cache.size_bytes,
        )
        yield GaugeMetricFamily(
            "list_cache_answers",
            "List answers kept.",
            value=self.cache.entries,
        )


class ServiceMetrics:
    """The registry of one app and the request metrics recorded into it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        labels = ("method", "route", "status")
        self.requests = Counter(
            "http_requests",
            "HTTP requests answered, by route template, method and status.",
            labels,
            registry=self.registry,
        )
        self.durations = Histogram(
            "http_request_duration_seconds",
            "Time to answer HTTP requests, by route template, method and status.",
            labels,
            registry=self.registry,
        )

    def watch_pool(self, pool: Pool, waits: ConnectionWaits) -> None:
        # The service's engines always use a queue pool (see create_engine).
        if isinstance(pool, QueuePool):
            self.registry.register(DatabasePoolCollector(pool, waits))

    def watch_list_cache(self, cache: ListCacheStatistics) -> None:
        self.registry.register(ListCacheCollector(cache))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method, route, str(status))
        self.requests.labels(*labels).inc()
        self.durations.labels(*labels).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def may_read_metrics(client_host: str | None, allowed: list[Network]) -> bool:
    """Whether the (proxy-resolved) client address is in METRICS_ALLOWED_NETWORKS."""
    if client_host is None:
        return False
    try:
        address = ip_address(client_host)
    except ValueError:
        return False
    return any(address in network for network in allowed)
