"""The rule model: what a rule says, validated on load, with errors naming the file and field.

Rules are data. They come from YAML files (a directory, each file `rules: [...]`) and from the
`alert_rules` table (managed through the API, one rule per row as a JSON document of the same
shape). `parse_rule(dict)` is the one validator for both; given a webhook policy, it also refuses
webhooks that may not be reached (services/alerting/webhooks.py).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from energywatch.errors import EnergyWatchError
from services.alerting.webhooks import WebhookPolicy, WebhookRefused


class RuleError(EnergyWatchError):
    """A rule (or a rules file) is invalid; the message names the file and the field."""


SEVERITIES = ("info", "warning", "critical")  # ascending; the kernel works on their ranks

KIND_DEFAULTS: dict[str, dict[str, Any]] = {
    # kind: (direction, unit of the value, default thresholds when the rule gives none)
    "intensity": {"direction": "above", "unit": "kgce/t"},
    "pue": {"direction": "above", "unit": "ratio"},
    "supply_coal_rate": {"direction": "above", "unit": "gce/kWh"},
    "energy": {"direction": "above", "unit": "tce"},
    "emissions": {"direction": "above", "unit": "tCO2"},
    "budget_pace": {"direction": "above", "unit": "ratio"},
    "budget_projection": {"direction": "above", "unit": "ratio"},
    "power": {"direction": "above", "unit": "kW"},
    "pollutant": {"direction": "above", "unit": "mg/m3"},
    "silent": {"direction": "above", "unit": "min"},
    "counter_reset": {"direction": "above", "unit": "count", "thresholds": {"warning": 0}},
    "stuck": {"direction": "below", "unit": "spread", "thresholds": {"warning": 1e-9}},
    "negative": {"direction": "above", "unit": "count", "thresholds": {"warning": 0}},
    "completeness": {"direction": "below", "unit": "share", "thresholds": {"warning": 0.9}},
}
Kind = Literal[
    "intensity",
    "pue",
    "supply_coal_rate",
    "energy",
    "emissions",
    "budget_pace",
    "budget_projection",
    "power",
    "pollutant",
    "silent",
    "counter_reset",
    "stuck",
    "negative",
    "completeness",
]
SITE_KINDS = frozenset(
    {
        "intensity",
        "pue",
        "supply_coal_rate",
        "energy",
        "emissions",
        "budget_pace",
        "budget_projection",
    }
)
# Names a threshold may use instead of a number: a column of the intensity_levels table.
LEVEL_REFS = ("level1", "level2", "level3")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: Any) -> timedelta:
    """'30s', '15m', '4h', '1d', a number of seconds, or a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration like '15m', '4h' or a number of seconds")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return timedelta(seconds=float(value))
    if isinstance(value, str) and (m := _DURATION.match(value)):
        return timedelta(seconds=float(m.group(1)) * _UNIT_S[m.group(2)])
    raise ValueError(f"{value!r} is not a duration like '30s', '15m', '4h', '1d'")


def format_duration(value: timedelta) -> str:
    """The shortest exact form parse_duration reads back: '90s', '15m', '4h', '1d'."""
    ms = round(value.total_seconds() * 1000)
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Selector(_Strict):
    """Which subjects a rule covers; every given field must match (empty selector = all)."""

    sites: tuple[str, ...] = ()  # site codes
    points: tuple[str, ...] = ()  # "SITE/POINT" or a bare point code (any site)
    region: str | None = Field(default=None, pattern=r"^[0-9]{1,6}$")  # division-code prefix
    industry: str | None = None
    product: str | None = None  # intensity: the product whose output divides the energy
    measure: str | None = None  # point-level kinds: only points of this measure
    role: str | None = None  # point-level kinds: only points of this role
    kind: Literal["enterprise", "station"] | None = None  # site kind


class Recipient(_Strict):
    """One destination: a webhook URL, an e-mail address, or the contacts of a role."""

    webhook: str | None = Field(default=None, pattern=r"^https?://")
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    contacts: Literal["operator", "regulator"] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Recipient:
        given = [x for x in (self.webhook, self.email, self.contacts) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of webhook, email, contacts")
        return self


class Escalation(_Strict):
    after: Duration = timedelta(minutes=30)
    recipients: tuple[Recipient, ...] = (Recipient(contacts="regulator"),)


class Rule(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
    kind: Kind
    description: str = ""
    source: str = ""  # the standard or document a threshold comes from
    enabled: bool = True
    select: Selector = Selector()
    # severity -> threshold: a number, or level1/level2/level3 of intensity_levels (intensity,
    # pue, supply_coal_rate with select.product)
    thresholds: dict[
        Literal["info", "warning", "critical"], float | Literal["level1", "level2", "level3"]
    ] = Field(default_factory=dict)
    direction: Literal["above", "below"] | None = None
    clear: float | None = None  # the value must come back past this to resolve (hysteresis)
    hysteresis: float | None = Field(default=None, ge=0, lt=1)  # or: a share of the threshold
    for_: Duration = Field(default=timedelta(0), alias="for")
    window: Duration = timedelta(minutes=15)
    every: Duration | None = None  # evaluation interval; None = every cycle
    renotify: Duration | None = timedelta(hours=4)
    no_data: Literal["keep", "ok", "alert"] = "keep"
    min_denominator: float = Field(default=1e-6, ge=0)  # ratio kinds: smaller output -> no data
    budget: Literal["energy", "carbon"] = "energy"  # budget kinds
    reset_share: float = Field(default=0.1, gt=0, lt=1)  # counter_reset, negative
    # pollutant: the O2 % the limit is set at (6 for coal boilers, GB 13223-2011); values are
    # compared corrected to it (docs/stacks.md). None: compared as the analyser reports them.
    reference_o2: float | None = Field(default=None, ge=0, lt=21)
    # pollutant: share of the window's minutes that must be valid (HJ 75-2017: 45 of 60)
    min_valid_share: float = Field(default=0.75, gt=0, le=1)
    recipients: tuple[Recipient, ...] = ()
    escalation: Escalation | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("thresholds", mode="before")
    @classmethod
    def _thresholds_dict(cls, value: Any) -> Any:
        return {} if value is None else value

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if not self.thresholds and "thresholds" not in KIND_DEFAULTS[self.kind]:
            raise ValueError(f"thresholds: a {self.kind} rule needs at least one threshold")
        refs = [v for v in self.thresholds.values() if isinstance(v, str)]
        if refs and not (
            self.kind in ("intensity", "pue", "supply_coal_rate") and self.select.product
        ):
            raise ValueError(
                "thresholds: level1/level2/level3 need an intensity, pue or supply_coal_rate "
                "rule with select.product"
            )
        if self.kind == "intensity" and not self.select.product:
            raise ValueError("select.product: an intensity rule names the product")
        if self.reference_o2 is not None and self.kind != "pollutant":
            raise ValueError("reference_o2: only a pollutant rule corrects to a reference O2")
        if self.clear is not None and self.hysteresis is not None:
            raise ValueError("clear: give clear or hysteresis, not both")
        numbers = [v for v in self.effective_thresholds.values() if not isinstance(v, str)]
        if self.clear is not None and numbers:
            lowest = min(numbers) if self.effective_direction == "above" else max(numbers)
            wrong_side = (
                self.clear > lowest if self.effective_direction == "above" else self.clear < lowest
            )
            if wrong_side:
                raise ValueError(
                    f"clear: {self.clear} lies beyond the threshold {lowest}; a clear level "
                    f"must be on the safe side of it"
                )
        return self

    @property
    def effective_direction(self) -> Literal["above", "below"]:
        return self.direction or KIND_DEFAULTS[self.kind]["direction"]

    @property
    def effective_thresholds(self) -> dict[str, float | str]:
        return dict(self.thresholds or KIND_DEFAULTS[self.kind].get("thresholds", {}))

    @property
    def unit(self) -> str:
        return str(KIND_DEFAULTS[self.kind]["unit"])

    @property
    def per_site(self) -> bool:
        return self.kind in SITE_KINDS

    def webhooks(self) -> list[tuple[str, str]]:
        """(field, URL) of every webhook the rule notifies, escalation included."""
        found = [
            (f"recipients[{i}].webhook", r.webhook)
            for i, r in enumerate(self.recipients)
            if r.webhook
        ]
        if self.escalation:
            found += [
                (f"escalation.recipients[{i}].webhook", r.webhook)
                for i, r in enumerate(self.escalation.recipients)
                if r.webhook
            ]
        return found

    def definition(self) -> dict[str, Any]:
        """The rule as a JSON-able document (what the alert_rules table stores)."""
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True) | {
            "name": self.name,
            "kind": self.kind,
        }


def _format_errors(exc: ValidationError, where: str) -> str:
    lines = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"] if p not in ("function-after",))
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {field or '(rule)'}: {msg}")
    return "\n".join(lines)


def parse_rule(data: Any, where: str = "rule", webhooks: WebhookPolicy | None = None) -> Rule:
    """Validate one rule document; RuleError names `where` and the field. With `webhooks`,
    every webhook URL must pass that policy too."""
    if not isinstance(data, dict):
        raise RuleError(f"{where}: a rule is a mapping, not {type(data).__name__}")
    name = data.get("name")
    label = f"{where} ({name})" if isinstance(name, str) else where
    try:
        rule = Rule.model_validate(data)
    except ValidationError as exc:
        raise RuleError(_format_errors(exc, label)) from exc
    if webhooks is not None:
        for field, url in rule.webhooks():
            try:
                webhooks.check_stored(url)
            except WebhookRefused as exc:
                raise RuleError(f"{label}: {field}: {exc}") from exc
    return rule


def parse_rules_document(
    document: Any, where: str, webhooks: WebhookPolicy | None = None
) -> list[Rule]:
    if document is None:
        return []
    if not isinstance(document, dict) or set(document) - {"rules"}:
        raise RuleError(f"{where}: a rules file is a mapping with one key, `rules`")
    items = document.get("rules") or []
    if not isinstance(items, list):
        raise RuleError(f"{where}: rules: must be a list")
    rules = [parse_rule(item, f"{where}: rules[{i}]", webhooks) for i, item in enumerate(items)]
    _no_duplicates(rules, where)
    return rules


def load_rules_file(path: Path, webhooks: WebhookPolicy | None = None) -> list[Rule]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RuleError(f"{path}: not valid YAML: {exc}") from exc
    except OSError as exc:
        raise RuleError(f"{path}: cannot read: {exc}") from exc
    return parse_rules_document(document, str(path), webhooks)


def load_rules_dir(path: Path, webhooks: WebhookPolicy | None = None) -> list[Rule]:
    """Every *.yaml / *.yml file of a directory (sorted), refused whole if any rule is bad."""
    if not path.is_dir():
        raise RuleError(f"{path}: rules directory does not exist")
    rules: list[Rule] = []
    for file in sorted([*path.glob("*.yaml"), *path.glob("*.yml")]):
        rules.extend(load_rules_file(file, webhooks))
    _no_duplicates(rules, str(path))
    return rules


def _no_duplicates(rules: list[Rule], where: str) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            raise RuleError(f"{where}: name: rule {rule.name!r} is defined twice")
        seen.add(rule.name)


DEFAULT_RULES_DIR = Path(__file__).parent / "default_rules"


def default_rules() -> list[Rule]:
    """The shipped rule set (levels of the standards, data-quality rules)."""
    return load_rules_dir(DEFAULT_RULES_DIR)
