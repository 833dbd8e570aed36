"""Broker configuration generated from the registry: Mosquitto password and ACL files."""
