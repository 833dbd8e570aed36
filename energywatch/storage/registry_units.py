"""Checks of a site's process units (工序/分厂) and of the points and products placed in them.

Pure: each problem comes back with the location of the field at fault, and the file readers
(registry_files.py, registry.py for a points CSV) turn locations into file:line [field].
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from energywatch.storage.registry_model import PointSpec, SiteSpec

Loc = tuple[int | str, ...]


def needs_unit(point: PointSpec) -> bool:
    """Points that a site with units must place in one: sub-meters (they make the unit
    balances), recovered energy (credited to the unit that recovers it) and product output
    (a product is charged its own unit's energy)."""
    if point.role in ("consumption", "feedstock"):
        return point.metering_level > 1
    return point.role in ("recovered", "output")


def point_unit_problem(point: PointSpec, site: str, units: Mapping[str, str]) -> str | None:
    """Why `point` cannot stand in a site whose units are `units` (code -> kind), or None."""
    if point.process_unit is not None and point.process_unit not in units:
        known = ", ".join(units) or "none; the site declares no units"
        return f"unknown process unit {point.process_unit!r} in site {site}; known: {known}"
    if point.process_unit is None and units and needs_unit(point):
        what = (
            "an output point"
            if point.role == "output"
            else f"a level-{point.metering_level} {point.role} point"
        )
        return f"site {site} has process units: {what} names its process_unit"
    if point.role == "output" and point.process_unit and units[point.process_unit] == "utility":
        return f"unit {point.process_unit!r} is a utility unit: it makes no product"
    return None


def _cycle(code: str, parents: Mapping[str, str | None]) -> list[str] | None:
    path = [code]
    seen = {code}
    parent = parents.get(code)
    while parent is not None and parent in parents:
        path.append(parent)
        if parent in seen:
            return path
        seen.add(parent)
        parent = parents[parent]
    return None


def site_unit_problems(i: int, site: SiteSpec) -> Iterator[tuple[Loc, str]]:
    """Every problem with the units of site number `i` and the points placed in them."""
    base: Loc = ("sites", i)
    kinds: dict[str, str] = {}
    parents: dict[str, str | None] = {}
    for j, unit in enumerate(site.units):
        if unit.code in kinds:
            yield (*base, "units", j, "code"), f"duplicate unit code {unit.code!r}"
            continue
        kinds[unit.code] = unit.kind
        parents[unit.code] = unit.parent
    for j, unit in enumerate(site.units):
        if unit.parent is None:
            continue
        loc = (*base, "units", j, "parent")
        if unit.parent not in kinds:
            yield (
                loc,
                f"unknown parent unit {unit.parent!r}; units of site {site.code}: "
                + (", ".join(kinds)),
            )
        elif (cycle := _cycle(unit.code, parents)) and cycle[0] == unit.code:
            yield loc, "units form a cycle: " + " -> ".join(cycle)
    made_by: dict[str, str] = {}
    for j, device in enumerate(site.devices):
        for k, point in enumerate(device.points):
            loc = (*base, "devices", j, "points", k, "process_unit")
            if problem := point_unit_problem(point, site.code, kinds):
                yield loc, problem
                continue
            if point.role != "output" or not point.product or point.process_unit is None:
                continue
            first = made_by.setdefault(point.product, point.process_unit)
            if first != point.process_unit:
                yield (
                    loc,
                    (
                        f"product {point.product!r} is made by unit {first!r} already: a product"
                        " belongs to the one unit that makes it"
                    ),
                )
