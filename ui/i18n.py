"""The window's language: which one, and installing its translations while the app runs.

The language follows the system locale unless Options.language says "en" or "es".
Switching is live: `apply_language` swaps the installed translators, Qt sends every
widget a LanguageChange event, and each page sets its texts again (`retranslate`).

Translations: `resources/translations/software_center_es.ts` is the source, edited by
people; `software_center_es.qm` next to it is compiled from it with `pyside6-lrelease`
and committed (a test checks it matches the .ts). `software_center_en.ts` holds only the
English plural forms. Qt's own strings (context menus, standard buttons) come from the
`qtbase_<lang>.qm` that PySide6 ships.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

import resources

__all__ = ["LANGUAGES", "TRANSLATIONS_DIR", "apply_language", "current_language", "resolve_language"]

log = logging.getLogger("software_center.ui")

TRANSLATIONS_DIR = Path(resources.__file__).resolve().parent / "translations"

# Language codes the window ships, with their names written in that language.
LANGUAGES = {"en": "English", "es": "Español"}

_installed: list[QTranslator] = []
_current: str | None = None  # None until apply_language runs


def resolve_language(setting: str | None) -> str:
    """The language to show for an Options.language value (None: the system's first UI language)."""
    if setting in LANGUAGES:
        return setting
    for name in QLocale.system().uiLanguages():
        code = name.replace("_", "-").split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return "en"


def current_language() -> str:
    return _current or "en"


def apply_language(setting: str | None) -> str:
    """Install the translators for `setting` (replacing any) and return the language shown.

    Missing translation files mean English, logged, never an error.
    """
    global _current
    language = resolve_language(setting)
    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("create the QApplication first")
    if language == _current:
        return language
    for translator in _installed:
        QCoreApplication.removeTranslator(translator)
        translator.deleteLater()
    _installed.clear()
    ours = QTranslator(app)  # English has one too: its plural forms ("1 step", "2 steps")
    if ours.load(str(TRANSLATIONS_DIR / f"software_center_{language}.qm")):
        QCoreApplication.installTranslator(ours)
        _installed.append(ours)
    else:
        log.warning("No %s translation in %s; showing the source text", language, TRANSLATIONS_DIR)
    if language != "en":
        qt = QTranslator(app)
        if qt.load(f"qtbase_{language}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
            QCoreApplication.installTranslator(qt)
            _installed.append(qt)
    locale = QLocale(language)
    QLocale.setDefault(locale)
    _current = language
    return language
