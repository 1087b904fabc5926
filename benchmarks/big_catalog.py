"""Peak memory of `gpuplan catalog validate` on a large offers.csv, against the file's size.

Usage: python benchmarks/big_catalog.py [--mb 200]

Writes three catalogs of about ``--mb`` MB of offers each into a temporary folder (the bundled
chips and rules) and runs ``gpuplan catalog validate`` on each in a fresh process under
``/usr/bin/time -v``:

- short rows: one offer per channel (every channel name distinct, about 70 bytes a row), the shape
  of the report that asked for this (2.8 million rows in 200 MB);
- tiny rows: one offer per channel with the shortest names and numbers (about 36 bytes a row),
  the most rows per megabyte;
- long rows: the bundled offers repeated, with their ``sources`` text.

Prints the file size, the peak resident memory, its ratio to the file size, and the wall time.
Not a test: CI does not run it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "catalogs" / "default"


def _one_offer_per_channel(path: Path, mb: float, row: Callable[[str, int], str]) -> None:
    """``mb`` MB of offers, row ``i`` written by ``row(sku, i)`` (each on a channel of its own)."""
    skus = [line.split(",")[0] for line in (DEFAULT / "chips.csv").read_text().splitlines()[1:]]
    with path.open("w") as f:
        f.write("sku,channel,period,max_units,unit_price_usd,lead_time_quarters,delivery_risk\n")
        i = 0
        while f.tell() < mb * 1e6:
            f.write(row(skus[i % len(skus)], i))
            i += 1


def short_rows(path: Path, mb: float) -> None:
    _one_offer_per_channel(
        path,
        mb,
        lambda sku, i: (
            f"{sku},distributor-shenzhen-{i:08d},2025Q{i % 4 + 1},{1000 + i % 5000},"
            f"{25000.5 + i % 100},{i % 3},0.05\n"
        ),
    )


def tiny_rows(path: Path, mb: float) -> None:
    _one_offer_per_channel(path, mb, lambda sku, i: f"{sku},c{i},2025Q{i % 4 + 1},1,1,0,\n")


def long_rows(path: Path, mb: float) -> None:
    header, *rows = (DEFAULT / "offers.csv").read_text().splitlines()
    with path.open("w") as f:
        f.write(header + "\n")
        k = 0
        while f.tell() < mb * 1e6:
            for row in rows:  # channels made distinct per copy: offers must not repeat
                sku, channel, rest = row.split(",", 2)
                f.write(f"{sku},{channel}-{k},{rest}\n")
            k += 1


def measure(folder: Path) -> tuple[float, float]:
    begin = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, "-m", "planner", "catalog", "validate", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - begin
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    assert found and done.returncode == 0, done.stdout[-500:] + done.stderr[-500:]
    return int(found.group(1)) / 1024, seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=200)
    args = parser.parse_args()
    print(f"{'offers.csv':<12} {'rows':>10} {'file MB':>8} {'peak MB':>8} {'ratio':>6} {'seconds':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, write in (("short rows", short_rows), ("tiny rows", tiny_rows), ("long rows", long_rows)):
            folder = Path(tmp) / name.replace(" ", "-")
            folder.mkdir()
            for f in ("chips.csv", "export_rules.yaml"):
                shutil.copy(DEFAULT / f, folder / f)
            write(folder / "offers.csv", args.mb)
            size = (folder / "offers.csv").stat().st_size / 2**20
            with (folder / "offers.csv").open("rb") as f:
                rows = sum(1 for _ in f) - 1
            peak, seconds = measure(folder)
            print(f"{name:<12} {rows:>10,} {size:>8.0f} {peak:>8.0f} {peak / size:>6.1f} {seconds:>8.1f}")


if __name__ == "__main__":
    main()
