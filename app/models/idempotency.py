from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column


class IdempotencyRecord(Base):
    """The stored answer to a POST sent with an `Idempotency-Key`.

    A row is written with the answer, in the transaction that produced it; a
    request still running holds an advisory lock on its key instead (see
    app/services/idempotency.py), which no crash can leave behind.
    """

    __tablename__ = "idempotency_records"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(2048))
    request_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[bytes]
    location: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    # Records older than the retention window are ignored and purged.
    expires_at: Mapped[datetime] = mapped_column(index=True)
