"""JSON in the contract's exact shape, rendered by PostgreSQL.

The shapes are SQL functions of migration 0004 (api_timestamp, api_user,
api_comment, render_ticket_documents), so that a ticket, its comments and
the people in them look the same wherever they appear. Tickets are rendered
once per change into ticket_documents and read from there; the tests check
every shape against the schemas in app/schemas/.
"""

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    func,
    inspect,
    literal_column,
    select,
)

from app.models import SupportTicket, TicketDocument

EMPTY_JSON_ARRAY: ColumnElement[Any] = literal_column("'[]'::json")


def _whole_row(entity: Any) -> ColumnElement[Any]:
    """The row of a mapped class or alias, as SQL functions of its type take it."""
    return literal_column(inspect(entity).selectable.name)


def api_timestamp(column: Any) -> ColumnElement[str]:
    """UTC ISO 8601 ending in Z, with microseconds only when not zero."""
    return func.api_timestamp(column, type_=Text)


def user_json_object(user: Any) -> ColumnElement[Any]:
    return func.api_user(_whole_row(user))


def comment_json_object(comment: Any, author: Any) -> ColumnElement[Any]:
    """A comment as tickets nest it; the comment endpoints send the same shape."""
    return func.api_comment(_whole_row(comment), _whole_row(author))


def ticket_json_select() -> Select[Any]:
    """The stored JSON of tickets; the caller adds a WHERE on `SupportTicket`."""
    return (
        select(TicketDocument.body)
        .select_from(SupportTicket)
        .join(TicketDocument, TicketDocument.ticket_id == SupportTicket.id)
    )
