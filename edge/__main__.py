"""`python -m edge CONFIG.yaml`: the agent without the full CLI (small gateways, tests)."""

import sys
from pathlib import Path

from edge.command import run
from energywatch import logs

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m edge CONFIG.yaml")
    logs.configure()
    run(Path(sys.argv[1]))
