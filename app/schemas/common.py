from typing import Generic, TypeVar

from pydantic import AnyUrl, BaseModel, ConfigDict, Field

Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    """A page of results, in the envelope of the system this service replaces."""

    model_config = ConfigDict(extra="forbid")

    count: int = Field(description="How many items match, across all pages.")
    next: AnyUrl | None = Field(
        description="The next page, or null on the last one.",
        examples=["https://api.example.org/v2/support-tickets/?limit=100&offset=400"],
    )
    previous: AnyUrl | None = Field(
        description="The previous page, or null on the first one.",
        examples=["https://api.example.org/v2/support-tickets/?limit=100&offset=200"],
    )
    results: list[Item]
