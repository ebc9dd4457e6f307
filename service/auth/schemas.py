from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .models import MAX_NAME_CHARS

Role = Literal["admin", "reviewer"]


class Principal(BaseModel):
    """Who is calling: the key's name is what the review log records."""

    name: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS, pattern=r"^[A-Za-z0-9_.@-]+$")
    role: Role


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    role: Role
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret; shown only in this answer.")
