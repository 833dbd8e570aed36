"""Large answers serialised in one step by pydantic (Rust), skipping FastAPI's generic
re-validation and encoding of the returned object, which costs tens of milliseconds for the
live view's thousands of points. The route still declares its response_model for OpenAPI."""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel


def model_json(model: BaseModel) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")
