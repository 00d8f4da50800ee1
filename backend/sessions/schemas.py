"""Request and response bodies of the sessions routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PasswordChange(BaseModel):
    """A signed-in user's new password, with the current one as proof."""

    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=8, max_length=200)


class TokenPublic(BaseModel):
    """A bearer token (OAuth2 token response)."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int
