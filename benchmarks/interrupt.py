"""How long Ctrl-C takes to stop `gpuplan plan`, interrupted at several moments of a long solve.

Usage: python benchmarks/interrupt.py

The 200x8x16 max-compute scenario (benchmarks/synthetic.py) at gap 0 runs for minutes; for each
moment from 1 to 8 s after start, a fresh `gpuplan plan` gets SIGINT (as Ctrl-C sends it to the
terminal's process group) and the script prints the exit code and the seconds until it ended.
Not a test: CI does not run it (tests/test_hostile.py checks one moment).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import synthetic  # noqa: E402

MOMENTS = (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        scenario = synthetic.make(Path(tmp), 200, 8, 16, objective="max-compute")
        waits = []
        print("| interrupted after s | exit code | stopped within s |")
        print("|---|---|---|")
        for moment in MOMENTS:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "planner.cli",
                    "plan",
                    str(scenario),
                    "--mip-gap",
                    "0",
                    "--format",
                    "json",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            time.sleep(moment)
            sent = time.monotonic()
            os.killpg(proc.pid, signal.SIGINT)
            proc.communicate(timeout=120)
            waits.append(time.monotonic() - sent)
            print(f"| {moment:g} | {proc.returncode} | {waits[-1]:.2f} |", flush=True)
        print(f"\nLongest wait: {max(waits):.2f} s; shortest: {min(waits):.2f} s")


if __name__ == "__main__":
    main()
