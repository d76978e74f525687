"""Demo stand-in for Windows Setup (setup.exe) of the Windows 11 24H2 upgrade media.

Run by the task sequence's "Upgrade Operating System" step with the interpreter that
runs the client (`%PYTHON% setup.py ...`). It changes nothing on the machine and reads
no network: it checks that its install image is next to it, then walks through the
phases of a real in-place upgrade, reporting progress on standard output.

Switches (case-insensitive, as setup.exe takes them):

    /Auto Upgrade                 the in-place upgrade (default)
    /Compat ScanOnly              only the compatibility scan; exits 0xC1900210
                                  ("no compatibility issues"), as Windows Setup does
    /InstallDrivers PATH          drivers to add during the upgrade (also /drivers PATH)
    /duration SECONDS             total run time (demo only; default 60, also when the
                                  value is missing or an unexpanded %VARIABLE%)
    /simulate-result CODE         fail with a Windows Setup code (demo only), e.g.
                                  0xC1900208 (compatibility block): exits after the scan
    /Quiet /NoReboot /DynamicUpdate X /EULA X /ImageIndex N ...   accepted, no effect

Output, one line each, flushed:

    PROGRESS <percent> <text>     0..100, strictly increasing
    <plain text>                  a human line per phase
    RESULT 0x<8 hex digits>       last line: the full exit code

Exit code: the Windows Setup code itself (0 success). Windows keeps all 32 bits; POSIX
keeps only the low 8 (0xC1900208 becomes 8, and 1 when the low byte is 0), so there the
`RESULT` line is the only place the full code survives.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

DEFAULT_DURATION_S = 60.0

# Phase, first percent, what the PROGRESS text says. Percent maps linearly to time.
PHASES = [
    ("Compatibility scan", 0, "checking apps, drivers and disk space"),
    ("Downlevel", 10, "copying Windows files and drivers"),
    ("SafeOS", 45, "applying the Windows image"),
    ("First boot", 65, "installing drivers and features"),
    ("Second boot", 85, "migrating apps and settings"),
]

# Simulated failures: the phase at whose end Setup gives up, and what it says.
FAILURES = {
    0xC1900200: ("Compatibility scan", "this PC does not meet the minimum requirements for Windows 11"),
    0xC1900204: ("Compatibility scan", "the selected migration choice (keep apps and files) is not available"),
    0xC1900208: ("Compatibility scan", "an incompatible app blocks the upgrade: Northwind Legacy VPN 3.1"),
    0xC190020E: ("Compatibility scan", "there is not enough free disk space for the upgrade"),
    0xC1900101: ("First boot", "a driver stopped the upgrade; Windows was rolled back"),
}

COMPAT_NO_ISSUES = 0xC1900210
FILE_NOT_FOUND = 0x80070002

TAKES_VALUE = {
    "/auto", "/compat", "/installdrivers", "/drivers", "/duration", "/simulate-result",
    "/dynamicupdate", "/eula", "/imageindex", "/priority", "/showoobe", "/telemetry",
    "/migratedrivers", "/copylogs", "/postoobe", "/bitlocker",
}


def say(line: str) -> None:
    print(line, flush=True)


def finish(code: int) -> None:
    say(f"RESULT 0x{code:08X}")
    if os.name == "nt":
        # sys.exit() takes a C long: pass the 32-bit code as its signed twin.
        sys.exit(code - (1 << 32) if code > 0x7FFFFFFF else code)
    sys.exit(0 if code == 0 else (code & 0xFF) or 1)


def parse(argv: list[str]) -> dict[str, str | None]:
    opts: dict[str, str | None] = {}
    i = 0
    while i < len(argv):
        key = argv[i].lower()
        if key in TAKES_VALUE:
            value = argv[i + 1] if i + 1 < len(argv) and not argv[i + 1].startswith("/") else None
            opts[key] = value
            i += 2 if value is not None else 1
        else:
            if key not in ("/quiet", "/noreboot"):
                say(f"Windows Setup: ignoring unknown switch {argv[i]}")
            opts[key] = None
            i += 1
    return opts


def duration(value: str | None) -> float:
    if value is None or (value.startswith("%") and value.endswith("%")):
        return DEFAULT_DURATION_S
    try:
        seconds = float(value)
    except ValueError:
        say(f"Windows Setup: /duration {value!r} is not a number; using {DEFAULT_DURATION_S:g} seconds")
        return DEFAULT_DURATION_S
    return max(0.0, min(seconds, 24 * 3600.0))


def result_code(value: str | None) -> int:
    if value is None:
        return 0
    try:
        return int(value, 0) & 0xFFFFFFFF
    except ValueError:
        say(f"Windows Setup: /simulate-result {value!r} is not a number; ignored")
        return 0


def main(argv: list[str]) -> None:
    opts = parse(argv)
    scan_only = (opts.get("/compat") or "").lower() == "scanonly"
    total = duration(opts.get("/duration"))
    simulate = result_code(opts.get("/simulate-result"))
    drivers = opts.get("/installdrivers") or opts.get("/drivers")

    here = Path(__file__).resolve().parent
    image = here / "sources" / "install.wim"
    if not image.is_file() or image.stat().st_size == 0:
        say(f"Windows Setup: the install image {image} is missing or empty")
        finish(FILE_NOT_FOUND)
    size_mb = image.stat().st_size / (1024 * 1024)
    say(f"Windows Setup: Windows 11 Enterprise 24H2, install image {size_mb:.1f} MB")
    if drivers and not drivers.startswith("%"):
        found = Path(drivers).is_dir()
        say(f"Windows Setup: drivers from {drivers}" + ("" if found else " (folder not found; skipped)"))

    phases = PHASES[:1] if scan_only else PHASES
    fail_phase, reason = FAILURES.get(simulate, ("Second boot", f"simulated failure 0x{simulate:08X}"))
    if not simulate:
        fail_phase = ""
    # Percent is time: percent p is reached after p% of the duration. Scan-only shows the
    # scan alone as 0..100.
    span = {PHASES[0][0]: (0, 100)} if scan_only else {
        name: (start, PHASES[i + 1][1] if i + 1 < len(PHASES) else 100)
        for i, (name, start, _) in enumerate(PHASES)
    }

    started = time.monotonic()
    say("PROGRESS 0 Starting Windows Setup")
    for name, _, text in phases:
        first, last = span[name]
        say(f"Windows Setup: {name} phase: {text}")
        for percent in range(first + 1, last + 1):
            delay = started + total * percent / 100 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            say(f"PROGRESS {percent} {name}: {text}")
        if name == fail_phase:
            say(f"Windows Setup: the upgrade failed in the {name} phase: {reason} (0x{simulate:08X})")
            finish(simulate)
    if scan_only:
        say("Windows Setup: compatibility scan found no issues (0xC1900210)")
        finish(COMPAT_NO_ISSUES)
    say("Windows Setup: the upgrade to Windows 11 Enterprise 24H2 succeeded")
    finish(0)


if __name__ == "__main__":
    main(sys.argv[1:])
