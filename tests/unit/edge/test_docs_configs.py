"""Every example config in docs/edge.md loads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edge.config import load_config

DOC = Path(__file__).resolve().parents[3] / "docs" / "edge.md"
BLOCKS = [b for b in re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S) if "site:" in b]


def test_the_doc_has_a_config_for_each_driver() -> None:
    kinds = {k for b in BLOCKS for k in re.findall(r"kind: (\w+)", b)}
    assert kinds == {"simulator", "modbus", "dlt645", "hj212"}


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: re.findall(r"kind: (\w+)", b)[0])
def test_doc_config_loads(block: str, tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text(block)
    config = load_config(path)
    assert config.drivers
