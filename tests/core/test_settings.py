"""Settings: a wrong value stops start-up with one line naming the variable."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.settings import Settings, describe_settings_error, get_settings


@pytest.fixture
def clean_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No .env and a fresh cache, restored afterwards."""
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("field", "value", "variable"),
    [
        ("database_pool_size", -1, "DATABASE_POOL_SIZE"),
        ("database_pool_timeout", 0, "DATABASE_POOL_TIMEOUT"),
        ("database_url", "not a url", "DATABASE_URL"),
        ("database_url", "postgresql://db:port/x", "DATABASE_URL"),
        ("database_url", "sqlite:///tickets.db", "DATABASE_URL"),
        ("page_size_max", 5000, "PAGE_SIZE_MAX"),
        ("port", 0, "PORT"),
        ("log_level", "LOUD", "LOG_LEVEL"),
        ("list_cache_max_bytes", -1, "LIST_CACHE_MAX_BYTES"),
        ("database_application_name", "two words", "DATABASE_APPLICATION_NAME"),
    ],
)
def test_a_wrong_value_is_described_in_one_line_naming_the_variable(
    clean_settings: None, field: str, value: object, variable: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(**{field: value})

    message = describe_settings_error(refused.value)

    assert message.startswith(f"invalid configuration: {variable}: ")
    assert "\n" not in message


def test_get_settings_exits_with_that_line_instead_of_a_traceback(
    clean_settings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_POOL_SIZE", "-1")

    with pytest.raises(SystemExit) as stopped:
        get_settings()

    assert str(stopped.value.code).startswith(
        "invalid configuration: DATABASE_POOL_SIZE: "
    )


def test_database_url_is_optional_and_empty_means_unset(
    clean_settings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "")

    assert get_settings().database_url is None
