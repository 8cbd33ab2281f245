"""The state machine's rules, without a database."""

import pytest

from app.models.enums import TicketStatus
from app.services.transitions import NoteRule, may_move_to, note_rule, targets_from


def test_the_creator_may_only_ever_cancel() -> None:
    allowed = [
        status
        for status in TicketStatus
        if may_move_to(status, is_staff=False, is_creator=True)
    ]

    assert allowed == [TicketStatus.CANCELLED]


def test_staff_may_enter_every_status_and_others_none() -> None:
    for status in TicketStatus:
        assert may_move_to(status, is_staff=True, is_creator=False)
        assert not may_move_to(status, is_staff=False, is_creator=False)


@pytest.mark.parametrize("final", [TicketStatus.CANCELLED, TicketStatus.RESOLVED])
def test_cancelled_and_resolved_are_final(final: TicketStatus) -> None:
    assert targets_from(final) == []


@pytest.mark.parametrize(
    ("source", "target", "rule"),
    [
        (TicketStatus.OPEN, TicketStatus.RESOLVED, NoteRule.REQUIRED),
        (TicketStatus.APPROVED, TicketStatus.RESOLVED, NoteRule.OPTIONAL),
        # No such move: the rule every move into the target shares, if any.
        (TicketStatus.OPEN, TicketStatus.APPROVED, NoteRule.REQUIRED),
        (TicketStatus.RESOLVED, TicketStatus.OPEN, NoteRule.REFUSED),
        (TicketStatus.UNDER_REVIEW, TicketStatus.RESOLVED, None),
    ],
)
def test_note_rules(
    source: TicketStatus, target: TicketStatus, rule: NoteRule | None
) -> None:
    assert note_rule(source, target) is rule
