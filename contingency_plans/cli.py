"""``anlan plans …``: validate plans, backtest one, export the JSON Schema.

    anlan plans validate [FILES…]
    anlan plans backtest PLAN --readings FILE.csv --sensors FILE.yaml [--reports FILE.csv]
                         [--format table|jsonl] [--plot out.png]
    anlan plans schema [--write]

``PLAN`` is a shipped plan's id or a plan file. Exit 0 on success, 1 when plans or inputs are
invalid (every problem printed to stderr as ``file:line: path: message``), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from anlan.registry import RegistryError, load_registry
from contingency_plans.backtest import (
    BacktestError,
    Change,
    read_readings,
    read_reports,
    run_backtest,
    summarise,
)
from contingency_plans.loader import PLANS_DIR, PlanError, load_files, load_plan, load_plans
from contingency_plans.plan import Plan


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="anlan plans", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="validate plan files (default: the shipped plans)")
    v.add_argument("files", nargs="*", type=Path)
    b = sub.add_parser("backtest", help="run recorded readings through a plan")
    b.add_argument("plan", help="a shipped plan id or a plan file")
    b.add_argument("--readings", required=True, type=Path, help="CSV: ts,sensor,kind,value")
    b.add_argument("--sensors", required=True, type=Path, help="sensors YAML (registry)")
    b.add_argument("--reports", type=Path, help="CSV: ts,kind,region (optional)")
    b.add_argument("--format", choices=("table", "jsonl"), default="table")
    b.add_argument("--plot", type=Path, help="draw readings and levels to this PNG")
    s = sub.add_parser("schema", help="print (or --write) the plan JSON Schema")
    s.add_argument("--write", action="store_true", help="update plan.schema.json")
    return parser


def main(argv: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run ``anlan plans ARGV``; return the exit code."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    try:
        if args.command == "validate":
            return _validate(args.files, out)
        if args.command == "backtest":
            return _backtest(args, out, err)
        return _schema(args.write, out)
    except PlanError as exc:
        for issue in exc.issues:
            print(issue, file=err)
        print(f"{len(exc.issues)} problem(s)", file=err)
        return 1
    except (BacktestError, RegistryError) as exc:
        print(f"error: {exc}", file=err)
        return 1


def _validate(files: list[Path], out: TextIO) -> int:
    plans = load_files(files) if files else load_plans(PLANS_DIR)
    for plan in plans.values():
        levels = "/".join(str(k) for k in plan.levels)
        print(f"ok  {plan.id:<20} {levels:<12} {plan.standard.title}", file=out)
    print(f"{len(plans)} plan(s) valid", file=out)
    return 0


def _resolve(plan: str) -> Plan:
    path = Path(plan)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return load_plan(path)
    plans = load_plans(PLANS_DIR)
    if plan not in plans:
        raise BacktestError(f"no plan {plan!r}; shipped: {', '.join(sorted(plans))}")
    return plans[plan]


def _backtest(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    plan = _resolve(args.plan)
    registry = load_registry(args.sensors)
    problems: list[str] = []
    reports = read_reports(args.reports, problems) if args.reports else []
    result = run_backtest(plan, read_readings(args.readings, problems), registry, reports)
    for warning in [*problems, *result.warnings]:
        print(f"warning: {warning}", file=err)
    if args.format == "jsonl":
        for change in result.changes:
            print(json.dumps(_jsonl(change), ensure_ascii=False), file=out)
    else:
        _table(result.changes, out)
    if args.plot:
        from contingency_plans.plot import plot_backtest
        print(f"plot: {plot_backtest(plan, result, args.plot)}", file=err)
    return 0


def _jsonl(change: Change) -> dict[str, object]:
    return {"ts": change.ts.isoformat(), "plan": change.plan, "region": change.region,
            "level": change.level.value, "evidence": change.evidence}


def _table(changes: list[Change], out: TextIO) -> None:
    rows = [("ts", "plan", "region", "from", "to", "evidence")]
    rows += [(c.ts.isoformat(), c.plan, c.region, c.previous.value, c.level.value,
              summarise(c.evidence)) for c in changes]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)) + "  " + row[5],
              file=out)
    if not changes:
        print("(no level changes)", file=out)


def _schema(write: bool, out: TextIO) -> int:
    from contingency_plans.schema import schema_text, write_schema
    if write:
        print(f"wrote {write_schema()}", file=out)
    else:
        out.write(schema_text())
    return 0
