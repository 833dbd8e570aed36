"""Alerts, their transitions, acknowledgements and silences."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from services.api.schemas.common import Page


class AlertPublic(BaseModel):
    id: int
    rule: str
    kind: str
    site: str | None
    point: str | None
    subject: str
    severity: str
    state: str
    value: float | None
    threshold: float | None
    unit: str
    started_at: datetime
    fired_at: datetime | None
    resolved_at: datetime | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    ack_comment: str | None
    escalated_at: datetime | None
    silenced: bool
    window_s: float | None = Field(
        description="length of the trailing window the value was computed over"
    )
    evaluated_at: datetime = Field(description="end of that window: when the value was computed")


class SeverityCounts(BaseModel):
    info: int
    warning: int
    critical: int


class AlertPage(Page[AlertPublic]):
    counts: SeverityCounts = Field(
        description="matching alerts per severity, every filter applied but `severity`"
    )


class TransitionPublic(BaseModel):
    at: datetime
    from_state: str | None
    to_state: str
    severity: str | None
    value: float | None
    threshold: float | None
    window_s: float | None
    evidence: dict[str, Any]


class AlertDetail(AlertPublic):
    transitions: list[TransitionPublic]


class AckCreate(BaseModel):
    comment: str = Field(default="", max_length=2000)


class SilenceMatchers(BaseModel):
    rule: str | None = Field(default=None, max_length=100)
    site: str | None = Field(default=None, max_length=100)
    point: str | None = Field(default=None, max_length=200, description="SITE/POINT")
    region: str | None = Field(default=None, pattern=r"^[0-9]{1,6}$")
    severity: str | None = Field(default=None, pattern="^(info|warning|critical)$")


class SilenceCreate(SilenceMatchers):
    starts_at: datetime
    ends_at: datetime
    comment: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _span(self) -> SilenceCreate:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("starts_at and ends_at need a UTC offset")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class SilencePublic(BaseModel):
    id: int
    kind: str
    matchers: dict[str, Any]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime
