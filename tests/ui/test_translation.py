"""The translations are complete, up to date with the sources, and the shipped .qm files match them.

software_center_es.ts holds every user-facing string; software_center_en.ts only the
plural forms (English needs "1 step" / "2 steps" too).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "resources" / "translations"
# language → extra lupdate options (English: plural forms only)
LANGUAGES = {"es": [], "en": ["-pluralonly"]}
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed")
    return found


def _messages(path: Path) -> dict[tuple[str, str, str], ET.Element]:
    """(context, source, comment) → <message>, skipping obsolete and vanished entries."""
    out = {}
    for ctx in ET.parse(path).getroot().iter("context"):
        name = ctx.findtext("name") or ""
        for m in ctx.iter("message"):
            tr = m.find("translation")
            assert tr is not None
            if tr.get("type") in ("obsolete", "vanished"):
                continue
            out[(name, m.findtext("source") or "", m.findtext("comment") or "")] = m
    return out


def _ts(language: str) -> Path:
    return TRANSLATIONS / f"software_center_{language}.ts"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated(language: str) -> None:
    problems = []
    messages = _messages(_ts(language))
    assert messages
    for key, m in messages.items():
        tr = m.find("translation")
        assert tr is not None
        if tr.get("type") == "unfinished":
            problems.append(f"unfinished: {key}")
        forms = [f.text for f in tr.iter("numerusform")] if m.get("numerus") == "yes" else [tr.text]
        if not forms or not all(f and f.strip() for f in forms):
            problems.append(f"empty: {key}")
        # Every placeholder and every '&' mnemonic of the source is kept.
        for form in forms:
            for ph in set(re.findall(r"%\d|%n", key[1])):
                if form and ph not in form:
                    problems.append(f"{ph} missing: {key}")
            if form and ("&" in key[1].replace("&&", "")) != ("&" in form.replace("&&", "")):
                problems.append(f"mnemonic: {key}")
    assert problems == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_translation_is_up_to_date_with_the_sources(tmp_path: Path, language: str) -> None:
    fresh = tmp_path / f"fresh_{language}.ts"
    sources = sorted(str(p) for p in (ROOT / "ui").glob("*.py"))
    subprocess.run([_tool("pyside6-lupdate"), "-locations", "none", *LANGUAGES[language], *sources,
                    "-ts", str(fresh)], check=True, capture_output=True)
    assert set(_messages(fresh)) == set(_messages(_ts(language))), "run `scripts/translations update`, translate"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_shipped_qm_is_compiled_from_the_ts(tmp_path: Path, language: str) -> None:
    built = tmp_path / "built.qm"
    subprocess.run([_tool("pyside6-lrelease"), "-nounfinished", "-removeidentical", str(_ts(language)),
                    "-qm", str(built)], check=True, capture_output=True)
    assert _ts(language).with_suffix(".qm").read_bytes() == built.read_bytes(), "run `scripts/translations build`"


def test_plural_forms_in_english_and_spanish(qapp: object) -> None:
    from ui.i18n import apply_language
    from ui.wording import step_counter_text

    def preparing(n: int) -> str:
        return step_counter_text(0, n)

    try:
        apply_language("en")
        assert (preparing(1), preparing(7)) == ("Preparing (1 step)", "Preparing (7 steps)")
        apply_language("es")
        assert (preparing(1), preparing(7)) == ("Preparando (1 paso)", "Preparando (7 pasos)")
    finally:
        apply_language("en")
