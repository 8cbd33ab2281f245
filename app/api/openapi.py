"""The OpenAPI document, completed with what FastAPI cannot infer from routes.

FastAPI documents a route's `responses` under the route's own media type
(application/json) and adds a 422 of its own shape for routes with
parameters. Every error this service sends is an RFC 9457 problem, so each
4xx and 5xx response is documented as `application/problem+json` with the
`Problem` schema, and the answers that any operation may give (a database
outage, a body over the size limit) are listed where they apply.
"""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from app.api.routing import ChecksBeforeBodyRoute
from app.core.errors import (
    PROBLEM_MEDIA_TYPE,
    PROBLEM_SCHEMA_REF,
    InvalidInput,
    Problem,
    ServiceUnavailable,
)
from app.schemas.ticket_query import BLANK_MEANS_ABSENT

_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
_BLANK = {"type": "string", "maxLength": 0}


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}}


def _problem_schemas() -> dict[str, Any]:
    """`Problem` and the schemas it refers to, as components."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    nested = schema.pop("$defs", {})
    return {"Problem": schema, **nested}


def _document_blank_values(operation: dict[str, Any]) -> None:
    """An empty value means "not sent" for the marked parameters."""
    for parameter in operation.get("parameters", []):
        schema = parameter["schema"]
        if not schema.pop(BLANK_MEANS_ABSENT, False):
            continue
        described = {
            key: schema.pop(key) for key in ("title", "description") if key in schema
        }
        branches = schema["anyOf"] if set(schema) == {"anyOf"} else [schema]
        parameter["schema"] = {"anyOf": [*branches, _BLANK], **described}


def _document_problems(document: dict[str, Any]) -> None:
    limit = ChecksBeforeBodyRoute.max_body_bytes
    too_large = f"Content too large: the body may not exceed {limit} bytes"
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            _document_blank_values(operation)
            responses = operation.setdefault("responses", {})
            if "422" in responses and "Validation Error" in responses["422"].get(
                "description", ""
            ):
                responses["422"]["description"] = InvalidInput.title
            if "requestBody" in operation:
                responses.setdefault("413", {"description": too_large})
            # Authentication reads the database: every authenticated
            # operation may meet it unavailable.
            if operation.get("security"):
                responses.setdefault("503", {"description": ServiceUnavailable.title})
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = _problem_content()

    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    schemas.update(_problem_schemas())


def install_problem_documentation(app: FastAPI) -> None:
    """Make `app.openapi()` document every error as problem+json."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _document_problems(build())
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
