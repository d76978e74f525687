"""The wording module: every failure code has words, in English and Spanish; one safe fill."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core import ErrorCode
from ui.i18n import apply_language
from ui.wording import ERROR_WORDS, error_words, failure_words, fill, run_error_text, step_counter_text

UI = Path(__file__).resolve().parents[2] / "ui"


def test_fill_substitutes_every_placeholder_in_one_pass() -> None:
    # A value that itself holds "%2" (a step named by an admin, a folder, an engine message) survives.
    assert fill("%1 · %2", "Copy 100%2 of files", "Step 3") == "Copy 100%2 of files · Step 3"
    assert fill("%2 before %1", "a", "b") == "b before a"
    assert fill("%1 of %2", 5, 8) == "5 of 8"
    assert fill("%1 % complete", 52) == "52 % complete"  # a lone % is text
    assert fill("%1 and %3", "x") == "x and %3"  # a placeholder without a value stays
    assert fill("%1%1", "%1") == "%1%1"


def test_no_placeholder_is_filled_by_chained_replace() -> None:
    chained = re.compile(r"""\.replace\(\s*["']%\d""")
    offenders = [p.name for p in sorted(UI.glob("*.py")) if chained.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_failure_code_has_its_words(qapp: object, language: str) -> None:
    assert set(ERROR_WORDS) == set(ErrorCode)
    try:
        apply_language(language)
        for code in ErrorCode:
            cause, advice = error_words(code)
            assert cause.strip(), code
            context, source_cause, source_advice = ERROR_WORDS[code]
            if language == "es":  # translated, not the English source
                assert cause != source_cause, code
                assert not source_advice or advice != source_advice, code
            assert run_error_text(code).startswith(cause)
    finally:
        apply_language("en")


def test_words_come_from_the_code_never_from_the_message() -> None:
    # The same code gives the same words whatever the engine's message says.
    assert run_error_text(ErrorCode.RUN_LOCKED) == (
        "Another Software Center is running a task sequence on this computer. Wait for it to finish, then try again."
    )
    assert failure_words(ErrorCode.PROGRAM_TIMEOUT, None) == error_words(ErrorCode.PROGRAM_TIMEOUT)
    assert failure_words("program_timeout", None) == error_words(ErrorCode.PROGRAM_TIMEOUT)  # from JSON
    assert failure_words("a_code_from_the_future", None)[0] == "The upgrade could not finish."
    # A program's failure keeps Windows Setup's own sentence for its exit code...
    assert "not compatible with Windows 11" in failure_words(ErrorCode.PROGRAM_FAILED, 0xC1900208)[0]
    assert "not compatible with Windows 11" in failure_words(ErrorCode.PROGRAM_FAILED, 0xC1900208 - 2**32)[0]
    # ...but the engine's own reason wins over a number that happens to match.
    assert failure_words(ErrorCode.CANCELLED, 0xC1900208) == error_words(ErrorCode.CANCELLED)


def test_step_counter(qapp: object) -> None:
    assert step_counter_text(5, 8, "Upgrade Operating System") == "Step 5 of 8 · Upgrade Operating System"
    assert step_counter_text(5, 8, "50%2 done") == "Step 5 of 8 · 50%2 done"
    assert step_counter_text(0, 8) == "Preparing (8 steps)"
    assert step_counter_text(9, 8) == "Step 8 of 8"
    assert step_counter_text(0, 0) == ""
