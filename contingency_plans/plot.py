"""``--plot``: readings per sensor and each region's level over time (matplotlib, Agg)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from anlan.events import Level
from contingency_plans.backtest import BacktestResult
from contingency_plans.plan import Plan

_COLOURS = {Level.NONE: "#cccccc", Level.IV: "#1f77e4", Level.III: "#f2c200",
            Level.II: "#ff7f0e", Level.I: "#d62728"}


def plot_backtest(plan: Plan, result: BacktestResult, out: Path | str) -> Path:
    """Draw readings (top) and region levels (bottom) to ``out`` (PNG)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(11, 6.5),
                                      gridspec_kw={"height_ratios": [3, 2]})
    for sensor, series in sorted(result.series.items()):
        top.plot([t for t, _ in series], [v for _, v in series], label=sensor, linewidth=1)
    top.set_ylabel("reading")
    top.set_title(f"backtest: {plan.id} ({plan.name.en})")
    if result.series:
        top.legend(loc="upper right", fontsize="small")
    end = max((s[-1][0] for s in result.series.values() if s), default=None)
    for i, (region, steps) in enumerate(sorted(result.levels.items())):
        _draw_levels(bottom, i, steps, end)
    bottom.set_yticks(range(len(result.levels)), sorted(result.levels))
    bottom.set_xlabel("event time")
    bottom.set_ylabel("region level")
    fig.autofmt_xdate()
    fig.tight_layout()
    path = Path(out)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _draw_levels(ax: Any, row: int, steps: Sequence[tuple[datetime, Level]],
                 end: datetime | None) -> None:
    """One horizontal band per region, coloured by level between changes."""
    bounds = [*steps, (end, Level.NONE)] if end is not None else list(steps)
    for (start, level), (stop, _) in itertools.pairwise(bounds):
        if level is Level.NONE or stop is None:
            continue
        ax.barh(row, stop - start, left=start, height=0.6, color=_COLOURS[level],
                edgecolor="none")
        ax.text(start, row + 0.35, level.value, fontsize="x-small")
