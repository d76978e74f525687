"""Software Center's window (PySide6 + qasync). `create_main_window` is the way in."""

from .startup import lasting_imports

with lasting_imports():
    from .app import create_main_window, run_window

__all__ = ["create_main_window", "run_window"]
