"""The package reads as the pipeline: every module in its stage's folder, none too long, no import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "planner"
STAGES = {"inputs", "rules", "model", "plans", "analyses", "outputs", "registry", "cli"}
TOP = {"__init__.py", "__main__.py", "errors.py", "interrupts.py"}
MOST_LINES = 700


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def runtime_imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The planner modules ``name`` imports when run: at module level or inside functions (not for type checking only)."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for sub in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("planner"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in known else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("planner")}
    return {m for m in found if m in known and m != name}


def test_every_module_sits_in_a_stage_of_the_pipeline():
    top = {p.name for p in PACKAGE.glob("*.py")}
    assert top == TOP
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == STAGES


def test_no_module_is_longer_than_700_lines():
    long = {
        name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MOST_LINES
    }
    assert long == {}


def test_no_import_cycle_between_modules():
    # imports inside functions count too: a cycle through a lazy import is still a cycle
    known = modules()
    graph = {name: runtime_imports(name, path, set(known)) for name, path in known.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []
    # and the check sees real edges, lazy ones included: the plan's entry point imports the
    # model's recipe at module level, the explain command its analysis inside the command
    assert "planner.model.build" in graph["planner.plans.plan"]
    assert "planner.analyses.explaining" in graph["planner.cli.plans"]


IMPORT_EACH = """
import importlib, sys
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "planner" or m.startswith("planner.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
print("\\n".join(failed))
"""


def test_every_module_imports_first_on_its_own():
    # a module imported before any other of the package (a script, a worker process) must not
    # run into a half-initialised one: the registry's commands once imported the CLI package,
    # whose __init__ imported them back
    import subprocess
    import sys

    names = sorted(n for n in modules() if not n.endswith("__main__") and ".migrations" not in n)
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH, *names], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "", out.stdout
