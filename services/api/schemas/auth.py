"""Tokens, the caller, users and API keys."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from services.api.principal import Role


class TokenPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    username: str
    role: Role
    scope: str | None


class StreamTicket(BaseModel):
    ticket: str
    expires_in: int


class MePublic(BaseModel):
    username: str
    role: Role
    scope: str | None
    sites: list[str]


class UserBase(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    role: Role
    scope: str | None = Field(default=None, max_length=1000)


class UserCreate(UserBase):
    password: str = Field(min_length=8, max_length=200)


class UserPublic(UserBase):
    disabled: bool
    created_at: datetime


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class ApiKeyPublic(BaseModel):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="shown once; store it now")
