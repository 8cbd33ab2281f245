"""Tickets rendered to JSON by PostgreSQL, in the contract's exact shape.

The list is the hot path: building a page's JSON next to the data, in the
same statement that selects it, costs far less than loading ORM objects and
serializing them in Python (see bench/). Every representation of a ticket
comes from here; the tests validate the output against `TicketRead`.
"""

from typing import Any

from sqlalchemy import ColumnElement, Text, case, func, literal, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import aliased

from app.models import SupportTicket, TicketComment, TicketEntity, User
from app.models.enums import LabelledEnum, TicketReason, TicketStatus

EMPTY_JSON_ARRAY: ColumnElement[Any] = literal_column("'[]'::json")


def api_timestamp(column: Any) -> ColumnElement[str]:
    """UTC ISO 8601 ending in Z, with microseconds only when not zero."""
    utc = column.op("AT TIME ZONE")(literal("UTC"))
    return case(
        (
            func.date_trunc("second", column) == column,
            func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        ),
        else_=func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    )


def _label(column: Any, enum: type[LabelledEnum]) -> ColumnElement[str]:
    return case({member.value: member.label for member in enum}, value=column)


def user_json_object(user: Any) -> ColumnElement[Any]:
    return func.json_build_object(
        "id", user.id, "username", user.username, "email", user.email
    )


def _entities(ticket_id: Any) -> ColumnElement[Any]:
    entity = func.json_build_object(
        "id",
        TicketEntity.id,
        "entity_type",
        TicketEntity.entity_type,
        "entity_id",
        TicketEntity.entity_id,
    )
    array = func.json_agg(aggregate_order_by(entity, TicketEntity.id))
    return (
        select(func.coalesce(array, EMPTY_JSON_ARRAY))
        .where(TicketEntity.ticket_id == ticket_id)
        .scalar_subquery()
    )


def comment_json_object(comment: Any, author: Any) -> ColumnElement[Any]:
    """A comment as tickets nest it; the comment endpoints send the same shape."""
    return func.json_build_object(
        "id",
        comment.id,
        "author",
        user_json_object(author),
        "content",
        comment.content,
        "sequence",
        comment.sequence,
        "created_at",
        api_timestamp(comment.created_at),
        "updated_at",
        api_timestamp(comment.updated_at),
    )


def _comments(ticket_id: Any) -> ColumnElement[Any]:
    author = aliased(User, name="comment_author")
    comment = comment_json_object(TicketComment, author)
    array = func.json_agg(aggregate_order_by(comment, TicketComment.sequence))
    return (
        select(func.coalesce(array, EMPTY_JSON_ARRAY))
        .join(author, author.id == TicketComment.author_id)
        .where(TicketComment.ticket_id == ticket_id)
        .scalar_subquery()
    )


def ticket_json_select(*order_by: ColumnElement[Any]) -> Any:
    """SELECT of one JSON value per ticket, from `SupportTicket` joined to people.

    The caller adds the WHERE clause; with `order_by` given, the tickets are
    aggregated into one JSON array in that order instead.
    """
    ticket = SupportTicket
    creator = aliased(User, name="creator")
    resolver = aliased(User, name="resolver")
    item = func.json_build_object(
        "id", ticket.id,
        "created_by", user_json_object(creator),
        "status", ticket.status,
        "status_display", _label(ticket.status, TicketStatus),
        "reason", ticket.reason,
        "reason_display", _label(ticket.reason, TicketReason),
        "resolved_by", case((resolver.id.is_not(None), user_json_object(resolver))),
        "resolved_at", api_timestamp(ticket.resolved_at),
        "created_at", api_timestamp(ticket.created_at),
        "updated_at", api_timestamp(ticket.updated_at),
        "entities", _entities(ticket.id),
        "comments", _comments(ticket.id),
        "ticket_type", ticket.ticket_type,
        "description", ticket.description,
        "resolution_note", ticket.resolution_note,
    )  # fmt: skip
    if order_by:
        array = func.json_agg(aggregate_order_by(item, *order_by))
        item = func.coalesce(array, EMPTY_JSON_ARRAY)
    return (
        select(item.cast(Text))
        .select_from(ticket)
        .join(creator, creator.id == ticket.created_by_id)
        .outerjoin(resolver, resolver.id == ticket.resolved_by_id)
    )
