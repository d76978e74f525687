"""A step program for engine tests (run as `%PYTHON% tool.py ...` or by absolute path).

Options, applied in this order:

    --print TEXT          print TEXT as a line (repeatable)
    --garbage             print malformed PROGRESS lines first (must be ignored, not fatal)
    --sleep S             take S seconds, printing `PROGRESS <p> working` ten times if --progress
    --progress            (with --sleep) report progress
    --slow-first FILE S   the first time (FILE missing: create it) take S seconds with progress;
                          later runs do not wait (a step to interrupt, then resume quickly)
    --wait-for FILE       print `PROGRESS 1 waiting`, then wait (up to 60 s) until FILE exists
    --spawn-hang PIDFILE  start a grandchild that sleeps forever, write "child grandchild" pids
                          to PIDFILE, then sleep forever too (a hung tree for timeout tests)
    --run ARGV...         (last option) run ARGV, relaying its output; its exit code is ours
    --restart-once FILE   exit 3010 when FILE does not exist yet (and create it), else 0
    --exit CODE           exit with CODE (decimal or 0x-hex): prints `RESULT <code>`, exits with
                          the low byte (1 when that is 0), as the demo programs do
    --marker FILE NAME    append the line NAME to FILE as the very last act, only when the
                          exit code is a success (0 or 3010): a step that completed leaves
                          exactly one line per completed run
"""

from __future__ import annotations

import os
import subprocess
import sys
import time


def say(line: str) -> None:
    print(line, flush=True)


def main(argv: list[str]) -> int:
    marker: tuple[str, str] | None = None
    code = 0
    declared = False
    sleep = 0.0
    progress = False
    run: list[str] | None = None
    i = 0
    actions: list[tuple[str, str]] = []
    while i < len(argv):
        opt = argv[i]
        if opt == "--run":
            run = argv[i + 1 :]
            break
        if opt == "--marker":
            marker = (argv[i + 1], argv[i + 2])
            i += 3
            continue
        if opt == "--slow-first":
            actions.append((opt, argv[i + 1] + "\0" + argv[i + 2]))
            i += 3
            continue
        if opt in ("--print", "--spawn-hang", "--restart-once", "--exit", "--sleep", "--wait-for"):
            actions.append((opt, argv[i + 1]))
            i += 2
            continue
        if opt in ("--garbage", "--progress"):
            if opt == "--progress":
                progress = True
            else:
                actions.append((opt, ""))
            i += 1
            continue
        raise SystemExit(f"tool.py: unknown option {opt}")

    for opt, value in actions:
        if opt == "--print":
            say(value)
        elif opt == "--garbage":
            for line in ("PROGRESS", "PROGRESS abc text", "PROGRESS 150 too far", "PROGRESS nan x", "PROGRESS -5 neg"):
                say(line)
        elif opt == "--sleep":
            sleep = float(value)
            for n in range(10):
                time.sleep(sleep / 10)
                if progress:
                    say(f"PROGRESS {(n + 1) * 10} working {n + 1} of 10")
        elif opt == "--slow-first":
            flag, seconds = value.split("\0")
            if not os.path.exists(flag):
                open(flag, "w").close()
                for n in range(100):
                    time.sleep(float(seconds) / 100)
                    say(f"PROGRESS {n + 1} slow first run")
        elif opt == "--wait-for":
            say("PROGRESS 1 waiting")
            deadline = time.monotonic() + 60
            while not os.path.exists(value) and time.monotonic() < deadline:
                time.sleep(0.02)
        elif opt == "--spawn-hang":
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
            with open(value + ".tmp", "w") as f:
                f.write(f"{os.getpid()} {child.pid}\n")
            os.replace(value + ".tmp", value)
            say("spawned a grandchild; hanging")
            time.sleep(3600)
        elif opt == "--restart-once":
            if os.path.exists(value):
                code = 0
            else:
                open(value, "w").close()
                code = 3010
            declared = True
        elif opt == "--exit":
            code = int(value, 0)
            declared = True

    if run is not None:
        proc = subprocess.Popen(run, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert proc.stdout is not None
        for raw in proc.stdout:
            sys.stdout.buffer.write(raw)
            sys.stdout.flush()
            if raw.startswith(b"RESULT "):
                code = int(raw.split()[1], 0)
                declared = True
        status = proc.wait()
        if not declared:
            code = status

    if declared:
        say(f"RESULT {code}")
    if marker is not None and code in (0, 3010):
        fd = os.open(marker[0], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (marker[1] + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    return code


if __name__ == "__main__":
    result = main(sys.argv[1:])
    sys.exit(result if result <= 255 or os.name == "nt" else (result & 0xFF) or 1)
