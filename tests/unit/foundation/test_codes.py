from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from energywatch.reference.codes import (
    CREDIT_CHARSET,
    credit_code_check_char,
    credit_code_problem,
    division_code_problem,
)


def test_published_example_code_is_valid() -> None:
    # An example code printed in GB 32100-2015 explanations.
    assert credit_code_problem("91350100M000100Y43") is None


@given(
    body=st.text(alphabet=CREDIT_CHARSET, min_size=9, max_size=9),
    division=st.from_regex(r"[1-6][0-9]{5}", fullmatch=True),
    position=st.integers(0, 17),
    replacement=st.sampled_from(CREDIT_CHARSET),
)
def test_any_single_character_change_is_caught(
    body: str, division: str, position: int, replacement: str
) -> None:
    first17 = "91" + division + body
    code = first17 + credit_code_check_char(first17)
    assert credit_code_problem(code) is None
    changed = code[:position] + replacement + code[position + 1 :]
    if changed != code:
        assert credit_code_problem(changed) is not None


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("91350100M000100Y4", "18 characters"),
        ("91350100M000100YI3", "outside GB 32100-2015: I"),
        ("91350100M000100Y44", "check digit"),
    ],
)
def test_problems_are_named(code: str, words: str) -> None:
    problem = credit_code_problem(code)
    assert problem is not None and words in problem


def test_division_code() -> None:
    assert division_code_problem("140100") is None
    assert division_code_problem("040100") is not None
    assert division_code_problem("14010") is not None
