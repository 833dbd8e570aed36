"""Storage: schema (tables.py), migrations, TimescaleDB features, registry and reference seed."""
