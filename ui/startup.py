"""What the window's start does to be quick, kept in one place."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["lasting_imports"]


@contextmanager
def lasting_imports() -> Iterator[None]:
    """For importing the window's modules: what they create (classes, functions, tables)
    lasts as long as the process, yet the cyclic garbage collector ran ~50 times during
    their import and would look at all of it again at every full collection (~10 ms of the
    window's start, measured). Inside, the collector is paused; after, everything made so
    far is moved out of its sight (`gc.freeze`, as `run_window` does once the window is
    built) and its previous state restored. Reference counting still frees what is dropped."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
