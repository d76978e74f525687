"""Data files shipped with the app: the demo site's spec and scripts, icons, styles, translations.

A package only so that `importlib.resources` finds it in any kind of install.
"""

from pathlib import Path

__all__ = ["RESOURCES"]

RESOURCES = Path(__file__).resolve().parent
