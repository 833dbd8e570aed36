"""The project's exception tree.

EnergyWatchError
├── SettingsError        a setting is missing or wrong; the process stops with its message
├── DependencyError      the database or the broker cannot be reached (names setting and fix)
├── InputError           a command's argument is refused (a short password, an unknown role)
├── RegistryError        a registry file is refused (carries every problem found)
├── StorageError         the database is missing something the service needs
├── QueueError           the edge queue file can neither be used nor replaced
└── ServiceFailed        a part of a running service died; the process exits non-zero
"""

from __future__ import annotations

from dataclasses import dataclass


class EnergyWatchError(Exception):
    """Base of every error the project raises on purpose."""


class SettingsError(EnergyWatchError):
    pass


class StorageError(EnergyWatchError):
    pass


class QueueError(EnergyWatchError):
    pass


class ServiceFailed(EnergyWatchError):
    """Raised after an orderly stop, so that a supervisor (systemd, compose) restarts us."""


class DependencyError(EnergyWatchError):
    pass


class InputError(EnergyWatchError):
    pass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file: where, which field, and what."""

    file: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        field = f" [{self.field}]" if self.field else ""
        return f"{where}{field}: {self.message}"


class RegistryError(EnergyWatchError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
