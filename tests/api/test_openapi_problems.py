"""Every error response is documented as what the service sends: problem+json."""

from fastapi import FastAPI

from app.core.errors import PROBLEM_MEDIA_TYPE

PROBLEM = {"schema": {"$ref": "#/components/schemas/Problem"}}


def _responses(app: FastAPI) -> list[tuple[str, str, str, dict[str, object]]]:
    document = app.openapi()
    return [
        (method, path, status, response)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for status, response in operation["responses"].items()
    ]


def test_every_error_response_is_a_problem_document(app: FastAPI) -> None:
    errors = [item for item in _responses(app) if item[2][0] in "45"]

    assert errors
    for method, path, status, response in errors:
        assert response["content"] == {PROBLEM_MEDIA_TYPE: PROBLEM}, (
            method,
            path,
            status,
        )


def test_successes_stay_plain_json(app: FastAPI) -> None:
    successes = [item for item in _responses(app) if item[2][0] == "2"]

    for _, _, _, response in successes:
        assert list(response["content"]) == ["application/json"]


def test_fastapis_own_validation_shape_is_not_documented(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]

    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "detail"}
    assert schemas["FieldProblem"]["required"] == ["location", "field", "message"]


def test_outages_and_oversized_bodies_are_documented(app: FastAPI) -> None:
    document = app.openapi()

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "503" in responses, (method, path)
            assert ("413" in responses) == ("requestBody" in operation), (method, path)
