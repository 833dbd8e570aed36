"""Fail a run that skipped a test for a reason not on the allowed list.

A skip is silent in a green run: a test whose tool went missing in CI, or whose fixture skips
by mistake, stops testing anything without anyone noticing. Every skip reason must therefore
contain one of the lines of the allowed list (tests/allowed_skips.txt, or the file named by
the `allowed_skips` ini option, relative to the root directory); otherwise the run's exit
status is 1 and the summary names the skipped tests with their reasons. Expected failures
(xfail) are not skips.
"""

from __future__ import annotations

from pathlib import Path

import pytest

DEFAULT_LIST = "tests/allowed_skips.txt"


def allowed_reasons(path: Path) -> list[str]:
    """The list's lines, without comments and blank lines."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


class SkipGuard:
    def __init__(self, allowed: list[str], source: Path) -> None:
        self.allowed = allowed
        self.source = source
        self.unexpected: list[tuple[str, str]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not report.skipped or hasattr(report, "wasxfail"):
            return
        reason = skip_reason(report)
        if not any(allowed in reason for allowed in self.allowed):
            self.unexpected.append((report.nodeid, reason))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.unexpected and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.unexpected:
            return
        terminalreporter.section("skips not on the allowed list", red=True)
        for nodeid, reason in self.unexpected:
            terminalreporter.line(f"{nodeid}: {reason}")
        terminalreporter.line(f"(the run fails; expected skips are listed in {self.source})")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("allowed_skips", "file listing the allowed skip reasons", default=DEFAULT_LIST)


def pytest_configure(config: pytest.Config) -> None:
    source = config.rootpath / str(config.getini("allowed_skips"))
    config.pluginmanager.register(SkipGuard(allowed_reasons(source), source), "skip-guard")
