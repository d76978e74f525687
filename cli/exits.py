"""The command line's exit codes (docs/CLI.md) and its one way of failing: one line, exit 2."""

from __future__ import annotations

import sys

__all__ = [
    "EXIT_CANCELLED",
    "EXIT_FAILED",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_RESTART",
    "EXIT_USAGE",
    "fail",
]

EXIT_OK = 0
EXIT_USAGE = 2  # usage, site or catalog error
EXIT_REFUSED = 3
EXIT_FAILED = 4
EXIT_RESTART = 5
EXIT_CANCELLED = 130
EXIT_INTERNAL = 1  # a bug in this program, reported in one line


def fail(message: str) -> int:
    """Say what was wrong on standard error, prefixed with the program's name; exit code 2."""
    print(f"software-center: {message}", file=sys.stderr)
    return EXIT_USAGE
