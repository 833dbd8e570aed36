"""Benchmarks: run each as `.venv/bin/python benchmarks/NAME.py --quick` (under a minute) or
without `--quick` for the longer run; each prints its figures, with ratios to a baseline
measured in the same run, as one JSON object on its last line."""
