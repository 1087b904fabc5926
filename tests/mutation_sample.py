"""A random sample of mutmut's mutants, and its score (the README's development section).

The whole run is about 4,800 mutants, hours on two cores; a sample of 300 gives the score within
a few points. After ``mutmut run`` has generated the mutants (any run does)::

    mutmut run $(python tests/mutation_sample.py --seed 2028)
    python tests/mutation_sample.py --seed 2028 --recheck   # the timeouts, without a CPU limit
    python tests/mutation_sample.py --seed 2028 --score

mutmut stops a mutant's tests at a CPU budget estimated from the tests' own run time, which
leaves out fixtures and start-up, so a mutant nothing kills can end as a "timeout".
``--recheck`` runs each timed-out mutant of the sample again, with its tests, without that budget
(15 minutes of wall time at most) and keeps the verdicts in ``mutants/recheck.json`` (a mutant
already there is not run again).

``--score`` counts the sample's outcomes per module (rechecked verdicts replace mutmut's), lists
what survived, and scores the mutants that change behaviour: those named in
``tests/mutation_equivalent.txt`` (one per line, the reason after ``#``) are judged not to, by
reading them, and left out; a timeout still standing after the recheck counts as killed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = Path(__file__).with_name("mutation_equivalent.txt")
RECHECKED = ROOT / "mutants" / "recheck.json"
WALL = 900


def results() -> dict[str, str]:
    """Every mutant's name and status, from ``mutmut results --all true``."""
    out = subprocess.run(
        ["mutmut", "results", "--all", "true"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    pairs = (line.strip().rsplit(": ", 1) for line in out.splitlines() if ": " in line)
    return {name: status for name, status in pairs}


def sample(names: list[str], seed: int, size: int) -> list[str]:
    """``size`` names drawn from the sorted list with ``random.Random(seed)``."""
    return random.Random(seed).sample(sorted(names), size)


def module(name: str) -> str:
    """``planner.model.build`` from ``planner.model.build.x_define_power__mutmut_11``."""
    return name.split(".x")[0]


def equivalent() -> set[str]:
    """Mutants judged (by reading them) to change no behaviour."""
    lines = (line.split("#", 1)[0].strip() for line in EQUIVALENT.read_text().splitlines())
    return {line for line in lines if line}


def rechecked() -> dict[str, str]:
    """Verdicts of timed-out mutants run again without a CPU budget."""
    return json.loads(RECHECKED.read_text()) if RECHECKED.exists() else {}


def recheck(names: list[str]) -> None:
    """Run each mutant's tests in ``mutants/`` as mutmut does, without its CPU budget."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    done = rechecked()
    for name in (n for n in names if n not in done):
        tests = subprocess.run(
            ["mutmut", "tests-for-mutant", name], capture_output=True, text=True, check=True, cwd=ROOT
        ).stdout.splitlines()
        command = [sys.executable, "-m", "pytest", "--rootdir=.", "--tb=no", "-x", "-q", "-p", "no:randomly"]
        command += tests + config.get("pytest_add_cli_args", [])
        try:
            code = subprocess.run(
                command,
                cwd=ROOT / "mutants",
                env={**os.environ, "MUTANT_UNDER_TEST": name},
                capture_output=True,
                timeout=WALL,
            ).returncode
            verdict = {0: "survived", 1: "killed"}.get(code, f"error {code}")
        except subprocess.TimeoutExpired:
            verdict = "timeout"
        done[name] = verdict
        RECHECKED.write_text(json.dumps(done, indent=1))
        print(f"{name}: {verdict}", flush=True)


def score(picked: list[str], status: dict[str, str]) -> None:
    """Print the sample's outcomes and its score on the mutants that change behaviour."""
    same = equivalent()
    by_module: Counter[tuple[str, str]] = Counter((module(n), status[n]) for n in picked)
    for mod in sorted({m for m, _ in by_module}):
        counts = {s: c for (m, s), c in by_module.items() if m == mod}
        print(f"{mod:32} " + ", ".join(f"{s} {c}" for s, c in sorted(counts.items())))
    outcome = Counter(status[n] for n in picked)
    print("all:", dict(sorted(outcome.items())))
    if outcome["not checked"]:
        print(f"{outcome['not checked']} not checked yet: run mutmut run on the sample first")
    alive = sorted(n for n in picked if status[n] in ("survived", "no tests"))
    print(f"survived or without a test ({len(alive)}):")
    for n in alive:
        print(f"  {n}{'  (equivalent)' if n in same else ''}")
    timeouts = sorted(n for n in picked if status[n] == "timeout")
    print(f"timed out ({len(timeouts)}):")
    for n in timeouts:
        print(f"  {n}")
    killed = sum(status[n] in ("killed", "timeout") for n in picked)
    print(f"killed (timeouts included) {killed} of {len(picked)} ({killed / len(picked):.0%})")
    changing = [n for n in picked if n not in same]
    caught = sum(status[n] in ("killed", "timeout") for n in changing)
    print(f"of the {len(changing)} that change behaviour: {caught} killed ({caught / len(changing):.1%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seed", type=int, default=2028)
    parser.add_argument("--size", type=int, default=300)
    parser.add_argument("--score", action="store_true", help="score the sample")
    parser.add_argument("--recheck", action="store_true", help="run the sample's timeouts again")
    args = parser.parse_args()
    status = results()
    picked = sample(list(status), args.seed, args.size)
    if args.recheck:
        recheck([n for n in picked if status[n] == "timeout"])
    elif args.score:
        status.update({n: v for n, v in rechecked().items() if n in status and status[n] == "timeout"})
        score(picked, status)
    else:
        sys.stdout.write("\n".join(picked) + "\n")


if __name__ == "__main__":
    main()
