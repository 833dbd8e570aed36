"""Benchmarks: each script prints its figures as its last line (see each docstring)."""
