"""`python -m services.ingest`: the ingest service with settings from the environment."""

from energywatch.settings import load_settings
from services.ingest.command import run

if __name__ == "__main__":
    run(load_settings())
