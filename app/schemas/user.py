from pydantic import BaseModel, ConfigDict, EmailStr


class UserSummary(BaseModel):
    """A person as tickets show them: creator, resolver, comment author."""

    model_config = ConfigDict(extra="forbid")

    id: int
    username: str
    email: EmailStr
