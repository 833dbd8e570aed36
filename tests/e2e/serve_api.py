"""The app factory for `uvicorn --factory`: settings from the ENERGYWATCH_* environment."""

from __future__ import annotations

from fastapi import FastAPI

from energywatch.settings import load_settings
from services.api.app import create_app


def app_from_env() -> FastAPI:
    return create_app(load_settings())
