"""The event-built YAML loader gives what yaml.safe_load gives, for every registry the tests use
and for the YAML features a hand-written registry may use."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from energywatch.storage import yaml_events

DATA = Path(__file__).resolve().parents[2] / "data" / "registry"
REPO = Path(__file__).resolve().parents[3]

DOCUMENTS = {
    "empty": "",
    "scalars": "a: 1\nb: 1.5\nc: true\nd: null\ne: '007'\nf: 2026-11-20\ng: 0x1F\nh: ~\ni: -.inf\n",
    "block and flow": (
        "sites:\n  - {code: S1, points: [1, 2, {x: y}]}\n  - code: S2\n    list:\n      - a\n"
    ),
    "quoted and multi-line": 'a: "x\\ty"\nb: |\n  line 1\n  line 2\nc: >\n  folded\n  text\n',
    "anchors and merge": (
        "defaults: &d {unit: kWh, kind: cumulative}\n"
        "points:\n"
        "  - <<: *d\n    code: E01\n"
        "  - <<: *d\n    code: E02\n    unit: MWh\n"
        "  - {<<: [*d, {scale: 2}], code: E03}\n"
        "alias: *d\n"
    ),
    "unicode": "name: 太原示例焦化有限公司\nnote: 'ä ö ü'\n",
    "top-level list": "- 1\n- [2, 3]\n- {a: b}\n",
    "explicit plain tags": "a: !!str 123\nb: !!int '7'\nc: !!float 1\n",
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_equals_safe_load(name: str) -> None:
    text = DOCUMENTS[name]
    assert yaml_events.load(text) == yaml.safe_load(text)


@pytest.mark.parametrize(
    "path",
    [
        *sorted([*DATA.glob("*.yaml"), *(REPO / "tests" / "e2e").glob("*.yaml")]),
        REPO / "services" / "demo" / "region.yaml",
    ],
    ids=lambda p: p.name,
)
def test_registries_load_alike(path: Path) -> None:
    text = path.read_text("utf-8")
    assert yaml_events.load(text) == yaml.safe_load(text)


@pytest.mark.parametrize(
    "text",
    ["a: *nowhere\n", "a: !!python/object:os.system x\n", "a: !custom {b: 1}\n", "a: [1, 2\n"],
)
def test_what_safe_load_refuses_is_refused(text: str) -> None:
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(text)
    with pytest.raises(yaml.YAMLError):
        yaml_events.load(text)
