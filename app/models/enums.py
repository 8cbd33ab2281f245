"""The enumerations of the contract, with the labels clients display."""

from enum import StrEnum


class LabelledEnum(StrEnum):
    """A code stored and sent as is, with a human label for `*_display`."""

    label: str

    def __new__(cls, code: str, label: str) -> "LabelledEnum":
        member = str.__new__(cls, code)
        member._value_ = code
        member.label = label
        return member


class TicketStatus(LabelledEnum):
    OPEN = ("OPEN", "Open")
    UNDER_REVIEW = ("UNDER_REVIEW", "Under Review")
    APPROVED = ("APPROVED", "Approved")
    DENIED = ("DENIED", "Denied")
    CANCELLED = ("CANCELLED", "Cancelled")
    RESOLVED = ("RESOLVED", "Resolved")


class TicketReason(LabelledEnum):
    INCORRECT_AMOUNT = ("INCORRECT_AMOUNT", "Incorrect Amount")
    WRONG_VEHICLE = ("WRONG_VEHICLE", "Wrong Vehicle")
    DUPLICATE_CHARGE = ("DUPLICATE_CHARGE", "Duplicate Charge")
    NOT_MY_TOLL = ("NOT_MY_TOLL", "Not My Toll")
    ALREADY_PAID = ("ALREADY_PAID", "Already Paid")
    OTHER = ("OTHER", "Other")


class TicketType(LabelledEnum):
    DISPUTE = ("DISPUTE", "Dispute")


class EventKind(StrEnum):
    OPENED = "opened"
    EDITED = "edited"
    COMMENTED = "commented"
    COMMENT_EDITED = "comment_edited"
    STATUS_CHANGED = "status_changed"


# A ticket in one of these states no longer holds its charges: they may be
# disputed again by a new ticket.
CLOSED_STATUSES = frozenset(
    {TicketStatus.CANCELLED, TicketStatus.DENIED, TicketStatus.RESOLVED}
)


def check_in(column: str, enum: type[StrEnum]) -> str:
    """SQL for a CHECK constraint that admits exactly the enum's codes."""
    codes = ", ".join(f"'{member.value}'" for member in enum)
    return f"{column} IN ({codes})"
