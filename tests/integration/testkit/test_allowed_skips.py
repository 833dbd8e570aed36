"""The skip guard: a run fails on a skip whose reason is not on the allowed list."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_LIST = Path(__file__).resolve().parents[2] / "allowed_skips.txt"

TESTS = """
import pytest

def test_runs():
    pass

@pytest.fixture
def server():
    pytest.skip("needs a server: set {variable}")

def test_needs_a_server(server):
    pass
"""


def run(pytester: pytest.Pytester, allowed_list: str, variable: str) -> pytest.RunResult:
    pytester.makefile(".txt", allowed=allowed_list)
    pytester.makeini("[pytest]\nallowed_skips = allowed.txt\n")
    pytester.makepyfile(test_sample=TESTS.format(variable=variable))
    return pytester.runpytest("-p", "tests.support.skips")


def test_a_skip_not_on_the_list_fails_the_run(pytester: pytest.Pytester) -> None:
    result = run(pytester, "SOME_OTHER_URL  # another server\n", "EXAMPLE_URL")
    result.assert_outcomes(passed=1, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*skips not on the allowed list*",
            "test_sample.py::test_needs_a_server: needs a server: set EXAMPLE_URL",
        ]
    )


def test_a_skip_on_the_list_passes(pytester: pytest.Pytester) -> None:
    result = run(pytester, "# comment only\n\nEXAMPLE_URL   # the server\n", "EXAMPLE_URL")
    result.assert_outcomes(passed=1, skipped=1)
    assert result.ret == pytest.ExitCode.OK
    assert "skips not on the allowed list" not in result.stdout.str()


def test_a_comment_in_the_list_allows_nothing(pytester: pytest.Pytester) -> None:
    result = run(pytester, "# EXAMPLE_URL\n", "EXAMPLE_URL")
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_an_expected_failure_is_not_a_skip(pytester: pytest.Pytester) -> None:
    pytester.makefile(".txt", allowed="")
    pytester.makeini("[pytest]\nallowed_skips = allowed.txt\n")
    pytester.makepyfile(
        "import pytest\n\n@pytest.mark.xfail(strict=True)\ndef test_known():\n    assert False\n"
    )
    result = pytester.runpytest("-p", "tests.support.skips")
    result.assert_outcomes(xfailed=1)
    assert result.ret == pytest.ExitCode.OK


def test_the_repository_list_allows_the_timescale_tests_only(pytester: pytest.Pytester) -> None:
    """The TimescaleDB tests skip without a server; nothing else may skip in CI."""
    allowed = REPO_LIST.read_text()
    assert run(pytester, allowed, "ENERGYWATCH_TEST_TIMESCALE_URL").ret == pytest.ExitCode.OK
    other = run(pytester, allowed, "ENERGYWATCH_TEST_PG_URL")
    assert other.ret == pytest.ExitCode.TESTS_FAILED
