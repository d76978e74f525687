"""Demo installer of the Northwind Ledger add-in for Excel (run as `%PYTHON% install.py`).

Changes nothing on the machine. Prints `PROGRESS <percent> <text>` lines (flushed) and,
last, `RESULT 0`, then exits 0. In the demo site this package's content is only on an
on-premises distribution point, so a client on the internet can never get it.
"""

from __future__ import annotations

import sys
import time


def main() -> None:
    print("Northwind Ledger add-in 2026.1 setup started", flush=True)
    for percent in range(0, 101, 10):
        print(f"PROGRESS {percent} Installing the Ledger add-in for Excel", flush=True)
        time.sleep(0.1)
    print("Northwind Ledger add-in installed", flush=True)
    print("RESULT 0", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
