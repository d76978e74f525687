"""Demo installer of the Northwind Company Portal app (run as `%PYTHON% install.py`).

Changes nothing on the machine. Prints `PROGRESS <percent> <text>` lines (flushed), a
human line per stage and, last, `RESULT <code>`; exits 0, or 3010 ("installed, restart
required") with `/restart`. `/duration SECONDS` sets the run time (default 3; a missing
value or an unexpanded %VARIABLE% means the default).

POSIX keeps only the low 8 bits of an exit code (3010 becomes 194), so there the
`RESULT` line is the only place the full code survives.
"""

from __future__ import annotations

import os
import sys
import time

STAGES = [
    (0, "Checking for a previous version"),
    (20, "Copying Company Portal files"),
    (70, "Registering the app and its shortcuts"),
    (90, "Configuring sign-in with the Northwind tenant"),
]


def say(line: str) -> None:
    print(line, flush=True)


def finish(code: int) -> None:
    say(f"RESULT {code}")
    sys.exit(code if os.name == "nt" or code <= 255 else (code & 0xFF) or 1)


def main(argv: list[str]) -> None:
    args = [a.lower() for a in argv]
    total = 3.0
    if "/duration" in args:
        i = args.index("/duration")
        value = argv[i + 1] if i + 1 < len(argv) else ""
        try:
            total = max(0.0, float(value))
        except ValueError:
            pass  # missing or an unexpanded %VARIABLE%: keep the default
    restart = "/restart" in args

    say("Company Portal 5.2 setup started")
    started = time.monotonic()
    stage = 0
    for percent in range(0, 101, 5):
        while stage + 1 < len(STAGES) and STAGES[stage + 1][0] <= percent:
            stage += 1
        if percent == STAGES[stage][0]:
            say(STAGES[stage][1])
        delay = started + total * percent / 100 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        say(f"PROGRESS {percent} {STAGES[stage][1]}")
    if restart:
        say("Company Portal installed; a restart is required to finish")
        finish(3010)
    say("Company Portal installed")
    finish(0)


if __name__ == "__main__":
    main(sys.argv[1:])
