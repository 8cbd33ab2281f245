"""The operations settings: read from the environment, refused when wrong."""

from ipaddress import ip_network

import pytest
from pydantic import ValidationError

from app.core.settings import Settings


def test_defaults_keep_metrics_on_loopback_and_cors_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in (
        "METRICS_ALLOWED_NETWORKS",
        "CORS_ALLOWED_ORIGINS",
        "SHUTDOWN_GRACE_SECONDS",
        "MAX_REQUEST_BODY_BYTES",
    ):
        monkeypatch.delenv(variable, raising=False)

    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert settings.metrics_allowed_networks == [
        ip_network("127.0.0.0/8"),
        ip_network("::1/128"),
    ]
    assert settings.cors_allowed_origins == []
    assert settings.shutdown_grace_seconds == 10
    assert settings.max_request_body_bytes == 1_048_576


def test_lists_are_read_comma_separated_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("METRICS_ALLOWED_NETWORKS", "10.0.0.0/8, fd00::/8")
    monkeypatch.setenv(
        "CORS_ALLOWED_ORIGINS", "https://fleet.example.com,http://localhost:3000"
    )

    settings = Settings()

    assert settings.metrics_allowed_networks == [
        ip_network("10.0.0.0/8"),
        ip_network("fd00::/8"),
    ]
    assert settings.cors_allowed_origins == [
        "https://fleet.example.com",
        "http://localhost:3000",
    ]


@pytest.mark.parametrize(
    "origin",
    ["*", "https://*.example.com", "https://example.com/", "ftp://example.com", "x"],
)
def test_an_origin_that_is_not_exactly_scheme_host_port_is_refused(
    origin: str,
) -> None:
    with pytest.raises(ValidationError, match="cors_allowed_origins"):
        Settings(cors_allowed_origins=[origin])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("shutdown_grace_seconds", 0),
        ("max_request_body_bytes", 10),
        ("metrics_allowed_networks", ["not-a-network"]),
    ],
)
def test_out_of_range_values_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        Settings(**{field: value})  # type: ignore[arg-type]
