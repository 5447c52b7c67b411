"""Which plan a manual alert belongs to: the plan for its hazard, so that a manual alert joins
(or raises) the incident the streams keep for that plan and region."""

from __future__ import annotations

from pathlib import Path

from contingency_plans import PlanError, load_plan


def plan_for_hazard(plans_dir: Path, hazard: str) -> str:
    """The id of the first valid plan in ``plans_dir`` for ``hazard``; the hazard itself when
    no plan covers it (the streams then name the incident after the hazard)."""
    for path in sorted(Path(plans_dir).glob("*.y*ml")):
        try:
            plan = load_plan(path)
        except PlanError:
            continue
        if plan.hazard == hazard:
            return plan.id
    return hazard
