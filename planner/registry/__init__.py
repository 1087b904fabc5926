"""The plan registry: plan versions, approvals, firm orders, re-plans and diffs in SQLite or PostgreSQL.

>>> from planner import registry
>>> with registry.open("plans.db") as reg:  # doctest: +SKIP
...     version, plan = reg.save(Path("budgets/base-7b.yaml"))
...     reg.approve(version.id, note="board, 2025-01-10")
...     reg.lock(version.id, "2025Q2")
...     replanned = reg.replan(version.id, shocks=Path("budgets/shocks/domestic-shortfall.yaml"),
...                            shock="Huawei supply halved from Q3")
...     reg.diff(version.id, replanned.version.id).lines

SQLAlchemy is imported on first use, not with the package (the ``gpuplan`` command starts fast).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from planner.registry.core import Registry

__all__ = ["Event", "Registry", "Version", "open"]


def open(db: str | Path | None = None) -> Registry:  # noqa: A001 - the registry's verb, as sqlite3.connect
    """Open (creating or upgrading) the registry at ``db``: a file path (SQLite) or a URL such as ``postgresql://user:password@host/database``; None reads ``$GPUPLAN_DB``, else ``./gpuplan.db``."""
    from planner.registry.core import Registry
    from planner.registry.store import resolve_url

    return Registry(resolve_url(None if db is None else str(db)))


def __getattr__(name: str) -> Any:
    if name == "Registry":
        from planner.registry.core import Registry

        return Registry
    if name in ("Event", "Version"):
        from planner.registry import store

        return getattr(store, name)
    raise AttributeError(name)
