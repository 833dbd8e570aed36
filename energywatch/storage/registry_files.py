"""Reading registry files (YAML or CSV) into validated specs, with file:line for every problem.

Nothing here touches the database; `registry.py` writes what this returns.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from energywatch.errors import Problem, RegistryError
from energywatch.storage import yaml_events
from energywatch.storage.registry_model import PointSpec, RegistryDoc, SiteSpec, overlapping
from energywatch.storage.registry_units import site_unit_problems

Loc = tuple[int | str, ...]


@dataclass(frozen=True)
class PointRow:
    """One line of a points CSV: a point of a site that is already registered."""

    line: int
    site: str
    device: str
    point: PointSpec


@dataclass(frozen=True)
class ParsedRegistry:
    """Either a whole document (YAML, sites CSV) or point rows (points CSV)."""

    sites: list[SiteSpec]
    point_rows: list[PointRow]


# --- YAML --------------------------------------------------------------------------------


def _line_index(node: yaml.Node, loc: Loc, out: dict[Loc, int]) -> None:
    out[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value
            _line_index(value, (*loc, name), out)
            out[(*loc, name)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, (*loc, i), out)


def _line_of(loc: Loc, lines: dict[Loc, int]) -> int | None:
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def _field_name(loc: Loc) -> str | None:
    return ".".join(str(p) for p in loc) or None


def _problems(
    file: str, exc: ValidationError, lines: dict[Loc, int], base: Loc = ()
) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc: Loc = (*base, *(p for p in err["loc"] if isinstance(p, int | str)))
        message = err["msg"].removeprefix("Value error, ")
        problems.append(Problem(file, _line_of(loc, lines), _field_name(loc), message))
    return problems


# libyaml where the wheel has it: it parses a province's registry (200,000 points) about ten
# times faster than the pure-Python loader.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _lines_of(text: str) -> dict[Loc, int]:
    """Line of every key and value of the document, for messages. Built only when there is a
    problem to report: the node tree of a province's file holds millions of objects."""
    lines: dict[Loc, int] = {}
    node = yaml.compose(text, Loader=_Loader)
    if node is not None:
        _line_index(node, (), lines)
    return lines


def _parse_yaml(path: Path) -> ParsedRegistry:
    name = str(path)
    text = path.read_text("utf-8")
    try:
        data = yaml_events.load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise RegistryError([Problem(name, line, None, f"not valid YAML: {exc}")]) from exc
    if not isinstance(data, dict):
        raise RegistryError([Problem(name, 1, None, "expected a mapping with a 'sites' list")])
    try:
        doc = RegistryDoc.model_validate(data)
    except ValidationError as exc:
        raise RegistryError(_problems(name, exc, _lines_of(text))) from exc
    del data
    _check_duplicates(name, doc.sites, lambda: _lines_of(text))
    return ParsedRegistry(doc.sites, [])


def _check_duplicates(
    file: str, sites: list[SiteSpec], line_index: Callable[[], dict[Loc, int]]
) -> None:
    problems: list[Problem] = []
    first_lines: dict[Loc, int] | None = None

    def lines() -> dict[Loc, int]:
        nonlocal first_lines
        if first_lines is None:
            first_lines = line_index()
        return first_lines

    def seen_twice(codes: Iterable[tuple[Loc, str]], what: str, scope: str = "") -> None:
        first: dict[str, Loc] = {}
        for loc, code in codes:
            if code in first:
                where = _line_of(first[code], lines())
                problems.append(
                    Problem(
                        file,
                        _line_of(loc, lines()),
                        _field_name(loc),
                        f"duplicate {what} {code!r}{scope} (first at line {where})",
                    )
                )
            else:
                first[code] = loc

    seen_twice(((("sites", i, "code"), s.code) for i, s in enumerate(sites)), "site code")
    seen_twice(
        (
            (("sites", i, "credit_code"), s.credit_code)
            for i, s in enumerate(sites)
            if s.credit_code
        ),
        "credit code",
    )
    for i, site in enumerate(sites):
        measured = site.measured_fuels or []
        for first, second in overlapping(measured):
            a, b = measured[first], measured[second]
            loc: Loc = ("sites", i, "measured_fuels", second)
            problems.append(
                Problem(
                    file,
                    _line_of(loc, lines()),
                    _field_name(loc),
                    f"a second measured value of {b.measure} for days of"
                    f" {a.valid_from}..{a.valid_to}"
                    f" (line {_line_of(('sites', i, 'measured_fuels', first), lines())})",
                )
            )
        seen_twice(
            ((("sites", i, "devices", j, "code"), d.code) for j, d in enumerate(site.devices)),
            "device code",
            f" in site {site.code}",
        )
        seen_twice(
            (
                (("sites", i, "devices", j, "points", k, "code"), p.code)
                for j, d in enumerate(site.devices)
                for k, p in enumerate(d.points)
            ),
            "point id",
            f" in site {site.code}",
        )
        for loc, message in site_unit_problems(i, site):
            problems.append(Problem(file, _line_of(loc, lines()), _field_name(loc), message))
    if problems:
        raise RegistryError(problems)


# --- CSV ---------------------------------------------------------------------------------

POINT_COLUMNS = ("site", "device", "code", "measure", "unit", "kind")
SITE_COLUMNS = ("code", "name", "kind", "division_code")


def _csv_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in reader.fieldnames or []]
        reader.fieldnames = header
        rows = [
            (reader.line_num, {k: v.strip() for k, v in row.items() if k and v and v.strip()})
            for row in reader
        ]
    return header, rows


def _validate_row(
    model: type[BaseModel], file: str, line: int, row: dict[str, Any], problems: list[Problem]
) -> Any:
    try:
        return model.model_validate(row)
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or None
            problems.append(Problem(file, line, field, err["msg"].removeprefix("Value error, ")))
        return None


def _parse_csv(path: Path) -> ParsedRegistry:
    name = str(path)
    header, rows = _csv_rows(path)
    is_points = "measure" in header or "device" in header
    required = POINT_COLUMNS if is_points else SITE_COLUMNS
    missing = [c for c in required if c not in header]
    if missing:
        kind = "points" if is_points else "sites"
        raise RegistryError(
            [Problem(name, 1, c, f"missing column {c!r} for a {kind} CSV") for c in missing]
        )
    problems: list[Problem] = []
    if not rows:
        raise RegistryError([Problem(name, 1, None, "no rows")])
    if not is_points:
        sites = [_validate_row(SiteSpec, name, line, row, problems) for line, row in rows]
        if problems:
            raise RegistryError(problems)
        lines: dict[Loc, int] = {}
        for i, (line, _) in enumerate(rows):
            lines[("sites", i, "code")] = lines[("sites", i, "credit_code")] = line
        _check_duplicates(name, sites, lambda: lines)
        return ParsedRegistry(sites, [])
    point_rows: list[PointRow] = []
    first: dict[tuple[str, str], int] = {}
    for line, row in rows:
        site, device = row.pop("site", ""), row.pop("device", "")
        spec = _validate_row(PointSpec, name, line, row, problems)
        if spec is None:
            continue
        key = (site, spec.code)
        if key in first:
            problems.append(
                Problem(
                    name,
                    line,
                    "code",
                    f"duplicate point id {spec.code!r} in site {site} (first at line {first[key]})",
                )
            )
            continue
        first[key] = line
        point_rows.append(PointRow(line, site, device, spec))
    if problems:
        raise RegistryError(problems)
    return ParsedRegistry([], point_rows)


def parse_registry_file(path: Path) -> ParsedRegistry:
    """Validate a registry file completely; raise RegistryError listing every problem."""
    if not path.is_file():
        raise RegistryError([Problem(str(path), None, None, "file does not exist")])
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return _parse_yaml(path)
    if suffix == ".csv":
        return _parse_csv(path)
    raise RegistryError([Problem(str(path), None, None, "expected a .yaml, .yml or .csv file")])
