"""The ticket's state machine: which moves exist, who may make them, and notes.

| from                 | to                 | who               | note          |
| -------------------- | ------------------ | ----------------- | ------------- |
| OPEN                 | UNDER_REVIEW       | staff             | refused       |
| UNDER_REVIEW         | OPEN               | staff             | refused       |
| UNDER_REVIEW         | APPROVED, DENIED   | staff             | required      |
| OPEN                 | RESOLVED           | staff             | required      |
| APPROVED, DENIED     | RESOLVED           | staff             | optional/kept |
| OPEN, UNDER_REVIEW   | CANCELLED          | creator or staff  | refused       |

Who may move a ticket is decided by the target status alone (the creator may
only ever cancel), so a caller is told 403 before learning the ticket's state;
whether the move exists from the current status is checked after (409).
"""

from dataclasses import dataclass
from enum import Enum

from app.models.enums import TicketStatus

OPEN = TicketStatus.OPEN
UNDER_REVIEW = TicketStatus.UNDER_REVIEW
APPROVED = TicketStatus.APPROVED
DENIED = TicketStatus.DENIED
RESOLVED = TicketStatus.RESOLVED
CANCELLED = TicketStatus.CANCELLED

# Entering one of these records who decided, and when.
DECISIONS = frozenset({APPROVED, DENIED, RESOLVED})


class NoteRule(Enum):
    REFUSED = "refused"
    REQUIRED = "required"
    OPTIONAL = "optional"


@dataclass(frozen=True, slots=True)
class Move:
    source: TicketStatus
    target: TicketStatus
    creator_may: bool
    note: NoteRule


MOVES = (
    Move(OPEN, UNDER_REVIEW, creator_may=False, note=NoteRule.REFUSED),
    Move(UNDER_REVIEW, OPEN, creator_may=False, note=NoteRule.REFUSED),
    Move(UNDER_REVIEW, APPROVED, creator_may=False, note=NoteRule.REQUIRED),
    Move(UNDER_REVIEW, DENIED, creator_may=False, note=NoteRule.REQUIRED),
    Move(OPEN, RESOLVED, creator_may=False, note=NoteRule.REQUIRED),
    Move(APPROVED, RESOLVED, creator_may=False, note=NoteRule.OPTIONAL),
    Move(DENIED, RESOLVED, creator_may=False, note=NoteRule.OPTIONAL),
    Move(OPEN, CANCELLED, creator_may=True, note=NoteRule.REFUSED),
    Move(UNDER_REVIEW, CANCELLED, creator_may=True, note=NoteRule.REFUSED),
)
_BY_STATES = {(move.source, move.target): move for move in MOVES}


def find_move(source: TicketStatus, target: TicketStatus) -> Move | None:
    return _BY_STATES.get((source, target))


def targets_from(source: TicketStatus) -> list[TicketStatus]:
    """The statuses a ticket may move to from `source`, in table order."""
    return [move.target for move in MOVES if move.source is source]


def may_move_to(target: TicketStatus, *, is_staff: bool, is_creator: bool) -> bool:
    """Whether the caller's role ever allows entering `target`."""
    return any(
        is_staff or (is_creator and move.creator_may)
        for move in MOVES
        if move.target is target
    )


def note_rule(source: TicketStatus, target: TicketStatus) -> NoteRule | None:
    """The note rule of the move; for a move that does not exist, the rule
    every move into `target` shares, if they agree (None if they do not)."""
    move = find_move(source, target)
    if move is not None:
        return move.note
    rules = {move.note for move in MOVES if move.target is target}
    return rules.pop() if len(rules) == 1 else None
