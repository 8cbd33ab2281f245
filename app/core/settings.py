"""Typed settings, read once from the environment (and an optional `.env`)."""

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

Network = IPv4Network | IPv6Network

LOOPBACK = ("127.0.0.0/8", "::1/128")


class Settings(BaseSettings):
    """Every knob of the service; field names map to upper-case variables."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    # Database
    database_url: str | None = None
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_max_overflow: int = Field(default=5, ge=0, le=200)
    database_pool_timeout: float = Field(default=2.0, gt=0, le=60)
    database_connect_timeout: float = Field(default=2.0, gt=0, le=60)
    database_statement_timeout_ms: int = Field(default=5000, ge=100, le=600_000)
    # How the service's connections name themselves in pg_stat_activity.
    database_application_name: str = Field(
        default="support-tickets", pattern=r"^[A-Za-z0-9._-]{1,63}$"
    )

    # API
    page_size_default: int = Field(default=100, ge=1, le=1000)
    page_size_max: int = Field(default=1000, ge=1, le=1000)
    root_path: str = Field(default="", pattern=r"^(/[A-Za-z0-9._~-]+)*$")
    # Bytes of list answers each process keeps for reuse (app/api/list_cache.py);
    # 0 turns the cache off.
    list_cache_max_bytes: int = Field(default=32 * 2**20, ge=0, le=2**34)
    trusted_proxies: Annotated[list[Network], NoDecode] = Field(
        default_factory=lambda: [ip_network(network) for network in LOOPBACK]
    )

    # HTTP server and its limits
    shutdown_grace_seconds: int = Field(default=10, ge=1, le=300)
    max_request_body_bytes: int = Field(default=1_048_576, ge=1024, le=104_857_600)
    cors_allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Operations
    metrics_allowed_networks: Annotated[list[Network], NoDecode] = Field(
        default_factory=lambda: [ip_network(network) for network in LOOPBACK]
    )

    # `support-tickets run` (a container passes these to uvicorn instead)
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8000, ge=1, le=65535)
    # Where the private PostgreSQL keeps its data when DATABASE_URL is unset;
    # None means .data/postgres in the checkout.
    embedded_data_dir: Path | None = None

    # Logging
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            url = make_url(value)
        except (ArgumentError, ValueError) as error:  # ValueError: a bad port
            raise ValueError("not a database URL") from error
        if url.get_backend_name() != "postgresql":
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator(
        "trusted_proxies",
        "metrics_allowed_networks",
        "cors_allowed_origins",
        mode="before",
    )
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("cors_allowed_origins")
    @classmethod
    def _check_origins(cls, origins: list[str]) -> list[str]:
        # An origin is exactly scheme://host[:port]; a wildcard is refused so
        # that opening the API to every site is never one typo away.
        for origin in origins:
            parts = urlsplit(origin)
            if (
                parts.scheme not in ("http", "https")
                or not parts.netloc
                or "*" in origin
                or origin != f"{parts.scheme}://{parts.netloc}"
            ):
                raise ValueError(f"{origin!r} is not an origin like https://host:port")
        return origins

    @property
    def async_database_url(self) -> URL:
        """The URL with the asyncpg driver, whatever driver the operator wrote."""
        if self.database_url is None:
            raise RuntimeError("DATABASE_URL is not set")
        return make_url(self.database_url).set(drivername="postgresql+asyncpg")


def describe_settings_error(error: ValidationError) -> str:
    """One line naming each wrong variable, for start-up failures."""
    problems = []
    for item in error.errors():
        variable = str(item["loc"][0]).upper() if item["loc"] else "settings"
        problems.append(f"{variable}: {item['msg']}")
    return "invalid configuration: " + "; ".join(problems)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests clear the cache to change them."""
    try:
        return Settings()
    except ValidationError as error:
        raise SystemExit(describe_settings_error(error)) from None
