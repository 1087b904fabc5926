"""Rent or own: how the horizon and the residual value move the split between buying and leasing.

Solves ``budgets/rent-or-own-2025-2027.yaml`` three ways and prints one row each:

1. one year (2025 only, its 2025Q4 target, no residual value): the end-of-horizon view, where a
   chip bought late is charged its whole price for a quarter or two of service;
2. three years, no residual value: purchases serve on, but what is left after 2027Q4 is worth
   nothing to the plan;
3. three years, residual book value (the scenario as written).

Run from the project folder: ``python docs/rent_or_own.py``. The README quotes its output.
"""

from __future__ import annotations

from pathlib import Path

from planner.inputs.scenario import Scenario, load_scenario
from planner.plans.plan import solve

SCENARIO = Path(__file__).resolve().parent.parent / "budgets" / "rent-or-own-2025-2027.yaml"


def variants(base: Scenario) -> list[tuple[str, Scenario]]:
    assert base.finance is not None
    year = base.periods[:4]
    one_year = base.model_copy(
        update={
            "periods": year,
            "targets": {k: v for k, v in base.targets.items() if k in year},
            "budget": base.budget.model_copy(
                update={
                    "total_usd": sum(v for k, v in (base.budget.per_period_usd or {}).items() if k in year),
                    "per_period_usd": {
                        k: v for k, v in (base.budget.per_period_usd or {}).items() if k in year
                    },
                }
            ),
            "finance": base.finance.model_copy(update={"residual": "none"}),
        }
    )
    no_residual = base.model_copy(update={"finance": base.finance.model_copy(update={"residual": "none"})})
    return [
        ("2025 only", one_year),
        ("2025-2027, no residual", no_residual),
        ("2025-2027, book residual", base),
    ]


def main() -> None:
    base = load_scenario(SCENARIO)
    print(
        f"{'variant':<26} {'bought $B':>9} {'leased $B':>9} {'owned share':>11} "
        f"{'disc. cost $B':>13} {'residual $B':>11}"
    )
    for label, scenario in variants(base):
        # the catalog path is relative to the scenario file: keep the file as the variant's source
        plan = solve(Scenario.from_dict(scenario.model_dump(mode="json"), base.source))
        t = plan.totals
        last = plan.periods.iloc[-1]
        owned = float(last["owned_pflops"]) / float(last["effective_pflops"])
        print(
            f"{label:<26} {t['capex_usd'] / 1e9:>9.2f} {t['lease_usd'] / 1e9:>9.2f} {owned:>11.1%} "
            f"{t['cost_usd'] / 1e9:>13.2f} {t['residual_value_usd'] / 1e9:>11.2f}"
        )


if __name__ == "__main__":
    main()
