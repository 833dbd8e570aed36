"""Broker configuration generated from the registry: Mosquitto's dynamic security file."""
