"""``anlan plans validate`` / ``backtest`` / ``schema`` through ``contingency_plans.cli.main``."""

from __future__ import annotations

import io
import json
from pathlib import Path

from contingency_plans.cli import main
from contingency_plans.loader import PLANS_DIR
from tests.contingency_plans.helpers import plan_yaml

EXAMPLES = Path(__file__).parents[2] / "contingency_plans" / "examples"
READINGS = EXAMPLES / "rainstorm_readings.csv"
SENSORS = EXAMPLES / "sensors.yaml"
G1, G2 = "360121100001-G1", "360121100001-G2"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_validate_the_shipped_plans() -> None:
    code, out, err = run("validate")
    assert code == 0, err
    assert out.splitlines()[-1] == "8 plan(s) valid"
    assert "ok  rainstorm" in out


def test_validate_given_files_reports_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(plan_yaml({"III": "trigger: {type: window_sum, kind: rain_mm, window: 3h, "
                                     "gte: lots}", "IV": "trigger: {type: latest, "
                                     "kind: rain_mm, gte: 1, colour: blue}"}), encoding="utf-8")
    code, out, err = run("validate", str(PLANS_DIR / "rainstorm.yaml"), str(bad))
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert f"{bad}:8: levels.III.trigger.gte: Input should be a valid number, got 'lots'" \
        in lines
    assert f"{bad}:11: levels.IV.trigger.colour: unknown field 'colour'" in lines
    assert lines[-1] == "2 problem(s)"
    assert "Traceback" not in err


def test_backtest_table_goes_blue_yellow_orange_red_and_clears() -> None:
    code, out, err = run("backtest", "rainstorm", "--readings", str(READINGS),
                         "--sensors", str(SENSORS))
    assert code == 0 and err == ""
    header, *rows = out.splitlines()
    assert header.split() == ["ts", "plan", "region", "from", "to", "evidence"]
    g1 = [(r.split()[3], r.split()[4]) for r in rows if r.split()[2] == G1]
    assert g1 == [("none", "IV"), ("IV", "III"), ("III", "II"), ("II", "I"), ("I", "II"),
                  ("II", "III"), ("III", "IV"), ("IV", "none")]
    first = rows[0]
    assert first.startswith("2026-07-20T07:50:00+08:00  rainstorm  360121100001-G1  none  IV")
    assert "rg-9001: window_sum 12h 50.76 ≥ 50 (escalated)" in first


def test_backtest_jsonl() -> None:
    code, out, _ = run("backtest", str(PLANS_DIR / "rainstorm.yaml"), "--readings",
                       str(READINGS), "--sensors", str(SENSORS), "--format", "jsonl")
    assert code == 0
    changes = [json.loads(line) for line in out.splitlines()]
    assert all(set(c) == {"ts", "plan", "region", "level", "evidence"} for c in changes)
    assert [c["level"] for c in changes if c["region"] == G2] == ["IV", "none"]
    red = next(c for c in changes if c["level"] == "I")
    assert red["ts"] == "2026-07-20T11:00:00+08:00"
    top = red["evidence"]["matched"][0]["top"]
    assert top["matched"] == [{"type": "window_sum", "value": 100.98, "threshold": 100.0,
                               "window": "3h"}]


def test_backtest_with_reports_and_plot(tmp_path: Path) -> None:
    readings = tmp_path / "r.csv"
    readings.write_text("ts,sensor,kind,value\n"
                        "2026-07-20T08:00:00+08:00,rg-9001,rain_mm,1\n"
                        "2026-07-20T08:05:00+08:00,rg-x,rain_mm,1\n", encoding="utf-8")
    reports = tmp_path / "rep.csv"
    reports.write_text("ts,kind,region\n" + "".join(
        f"2026-07-20T08:{m:02d}:00+08:00,waterlogging,{G1}\n" for m in (1, 2, 3)),
        encoding="utf-8")
    png = tmp_path / "out.png"
    code, out, err = run("backtest", "urban_waterlogging", "--readings", str(readings),
                         "--sensors", str(SENSORS), "--reports", str(reports),
                         "--format", "jsonl", "--plot", str(png))
    assert code == 0
    assert "warning: sensor 'rg-x' is not in the sensors file; skipped" in err
    (change,) = [json.loads(line) for line in out.splitlines()]
    assert (change["region"], change["level"], change["ts"]) == (
        "360121100001", "IV", "2026-07-20T08:03:00+08:00")
    assert change["evidence"]["matched"][0]["count"] == 3
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_backtest_input_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("ts,sensor,kind,value\n2026-07-20T08:00:00,rg-9001,rain_mm,1\n",
                   encoding="utf-8")
    code, _, err = run("backtest", "rainstorm", "--readings", str(bad), "--sensors", str(SENSORS))
    assert code == 0 and f"{bad}:2: ts '2026-07-20T08:00:00' has no offset" in err
    assert "row skipped" in err  # reported and skipped, not the end of the run
    code, _, err = run("backtest", "nope", "--readings", str(READINGS), "--sensors", str(SENSORS))
    assert code == 1 and "no plan 'nope'" in err
    code, _, err = run("backtest", "rainstorm", "--readings", str(READINGS),
                       "--sensors", str(tmp_path / "none.yaml"))
    assert code == 1 and "sensors file not found" in err
    assert run("backtest", "rainstorm")[0] == 2  # usage error


def test_schema_prints_json() -> None:
    code, out, _ = run("schema")
    assert code == 0 and json.loads(out)["title"] == "Plan"


def test_backtest_rejects_what_the_live_validator_rejects_and_goes_on(tmp_path: Path) -> None:
    rows = ["ts,sensor,kind,value"]
    rows += [f"2026-07-20T{8 + i // 12:02d}:{i % 12 * 5:02d}:00+08:00,rg-9001,rain_mm,10"
             for i in range(48)]
    rows.insert(3, "2026-07-20T08:07:00+08:00,rg-9001,rain_mm,-4")  # negative rain
    rows.insert(5, "not a time,rg-9001,rain_mm,1")  # malformed
    readings = tmp_path / "r.csv"
    readings.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, out, err = run("backtest", "rainstorm", "--readings", str(readings),
                         "--sensors", str(SENSORS), "--format", "jsonl")
    assert code == 0
    assert "rg-9001: below hard limit 0; skipped" in err
    assert f"{readings}:6: ts 'not a time' is not an ISO 8601 time; row skipped" in err
    levels = [json.loads(line)["level"] for line in out.splitlines()]
    assert levels == ["II", "I"]  # the run went on: 120 mm/h is orange at once, then red
