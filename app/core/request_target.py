"""Paths and query strings are UTF-8; anything else is a 422 before routing.

A percent-escape that decodes to bytes which are not UTF-8 (`search=%FF`)
would otherwise reach the routes as U+FFFD replacement characters: a search
for a character nobody typed, or an id that fails as "not an integer"
without saying why. The request target cannot be read as sent, so it is
refused first, before authentication, like any other unreadable request.
Raw bytes that are not ASCII never get here: the HTTP server answers 400.
"""

from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.errors import FieldProblem, InvalidInput, problem_response

NOT_UTF8 = "not valid UTF-8 once percent-decoded"


def _is_utf8(raw: bytes) -> bool:
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _problems(scope: Scope) -> list[FieldProblem]:
    problems = []
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    if not _is_utf8(raw_path):
        problems.append(FieldProblem(location="path", field="path", message=NOT_UTF8))
    for pair in scope.get("query_string", b"").split(b"&"):
        name, _, value = pair.partition(b"=")
        if _is_utf8(name) and _is_utf8(value):
            continue
        readable = unquote_to_bytes(name).decode("utf-8", errors="replace")
        field = readable if _is_utf8(name) and readable else "query"
        problems.append(FieldProblem(location="query", field=field, message=NOT_UTF8))
    return problems


class RefuseUndecodableTarget:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        problems = _problems(scope) if scope["type"] == "http" else []
        if not problems:
            await self.app(scope, receive, send)
            return

        named = ", ".join(sorted({problem.field for problem in problems}))
        response = problem_response(
            422,
            slug=InvalidInput.slug,
            title=InvalidInput.title,
            detail=f"The request has invalid input: {named}.",
            errors=problems,
        )
        await response(scope, receive, send)
