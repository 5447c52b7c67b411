"""Broken plans give file, line, path and a plain message; the JSON Schema is current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from contingency_plans import PlanError, load_plan, load_plans, parse_plan
from contingency_plans.loader import PLANS_DIR, load_files
from contingency_plans.schema import SCHEMA_PATH, schema_text
from tests.contingency_plans.helpers import plan_yaml

RAIN = "trigger: {type: window_sum, kind: rain_mm, window: 3h, gte: 50}"


def issues(text: str) -> list[tuple[str, str, int | None]]:
    with pytest.raises(PlanError) as info:
        parse_plan(text, "broken.yaml")
    return [(i.path, i.message, i.line) for i in info.value.issues]


def test_a_valid_plan_loads() -> None:
    plan = parse_plan(plan_yaml({"IV": RAIN}), "ok.yaml")
    assert plan.id == "test" and list(plan.levels) == ["IV"]


def test_unknown_field_names_file_line_and_path() -> None:
    text = plan_yaml({"IV": "trigger: {type: window_sum, kind: rain_mm, window: 3h, gte: 50, "
                            "hysterisis: 5}"})
    with pytest.raises(PlanError) as info:
        parse_plan(text, "plans/broken.yaml")
    (issue,) = info.value.issues
    assert issue.path == "levels.IV.trigger.hysterisis"
    assert issue.message == "unknown field 'hysterisis' (did you mean 'hysteresis'?)"
    assert issue.line == 8
    assert str(issue) == ("plans/broken.yaml:8: levels.IV.trigger.hysterisis: "
                          "unknown field 'hysterisis' (did you mean 'hysteresis'?)")


def test_unknown_top_level_field() -> None:
    assert issues(plan_yaml({"IV": RAIN}, extra="colour: blue")) == [
        ("colour", "unknown field 'colour'", 11)]


def test_threshold_of_the_wrong_type() -> None:
    text = plan_yaml({"IV": "trigger: {type: window_sum, kind: rain_mm, window: 3h, gte: fifty}"})
    assert issues(text) == [("levels.IV.trigger.gte",
                             "Input should be a valid number, got 'fifty'", 8)]
    text = plan_yaml({"IV": "trigger: {type: window_sum, kind: rain_mm, window: 3h, gte: '50'}"})
    assert issues(text)[0][:2] == ("levels.IV.trigger.gte",
                                   "Input should be a valid number, got '50'")


def test_levels_out_of_order() -> None:
    text = plan_yaml({"III": RAIN.replace("50", "80"), "IV": RAIN})
    assert issues(text) == [("levels", ("levels out of order: III, IV; list them from the "
                             "lowest (IV, blue) to the highest (I, red): IV, III"), 6)]


def test_unknown_level_key() -> None:
    text = plan_yaml({"IV": RAIN}).replace("  IV:", "  V:")
    assert issues(text) == [("levels.V", ("not an allowed key: Input should be 'IV', 'III', "
                             "'II' or 'I', got 'V'"), 7)]


def test_thresholds_out_of_order() -> None:
    text = plan_yaml({"IV": RAIN, "III": RAIN.replace("50", "40")})
    ((path, message, _),) = issues(text)
    assert path == "levels.III.trigger"
    assert message == ("levels out of order: III asks for window_sum of rain_mm ≥ 40, less "
                       "than IV (≥ 50)")


def test_nested_condition_paths_and_bad_duration() -> None:
    text = plan_yaml({"IV": "trigger: {type: any, conditions: ["
                            "{type: window_sum, kind: rain_mm, window: 3h, gte: 50}, "
                            "{type: rate, kind: rain_mm, window: soon, gte: 1}]}"})
    ((path, message, _),) = issues(text)
    assert path == "levels.IV.trigger.conditions[1].window"
    assert "'soon' is not a duration" in message


def test_unknown_condition_type_and_missing_fields() -> None:
    text = plan_yaml({"IV": "trigger: {type: window_avg, kind: rain_mm}"})
    ((path, message, _),) = issues(text)
    assert path == "levels.IV.trigger"
    assert message.startswith("unknown type 'window_avg'; expected one of")
    text = plan_yaml({"IV": "trigger: {type: window_sum, kind: rain_mm, gte: 50}"})
    assert issues(text) == [("levels.IV.trigger.window", "required field missing", 8)]


def test_semantic_checks() -> None:
    text = plan_yaml({"IV": RAIN}, kinds="[rain_mm, lava_flow]")
    assert issues(text)[0][:2] == ("kinds[1]", issues(text)[0][1])
    assert "unknown sensor kind 'lava_flow'" in issues(text)[0][1]
    wrong_severity = plan_yaml({"IV": RAIN}).replace("severity: Minor", "severity: Extreme")
    assert issues(wrong_severity)[0][:2] == (
        "levels.IV.actions.cap.severity", "level IV has CAP severity Minor, not Extreme")
    no_trigger = plan_yaml({"IV": "region_trigger: {type: sensors, min_count: 2}"})
    assert "no sensor 'trigger'" in issues(no_trigger)[0][1]
    bad_template = plan_yaml({"IV": RAIN}).replace("headline: {zh-CN: 测试",
                                                   "headline: {zh-CN: '{place}'")
    ((path, message, _),) = issues(bad_template)
    assert path == "levels.IV.actions.cap.headline.zh-CN"
    assert "unknown placeholder(s) ['place']" in message


def test_conditions_must_read_the_plan_kinds() -> None:
    text = plan_yaml({"IV": "trigger: {type: latest, kind: wind_mps, gte: 10}"})
    assert issues(text) == [("kinds", "conditions read ['wind_mps']; add them to kinds", 5)]


def test_override_thresholds_out_of_order() -> None:
    extra = """
    overrides:
      - name: X
        regions: ["51"]
        source: s
        levels:
          III: {trigger: {type: window_sum, kind: rain_mm, window: 3h, gte: 40}}
    """
    levels = {"IV": RAIN, "III": RAIN.replace("50", "60")}
    ((path, message, _),) = issues(plan_yaml(levels, extra=extra))
    assert path == "overrides[0].levels.III.trigger"
    assert message.startswith("levels out of order: III asks for window_sum of rain_mm ≥ 40")


def test_override_problems() -> None:
    extra = """
    overrides:
      - name: X
        regions: ["5x"]
        source: s
        levels:
          I: {trigger: {type: window_sum, kind: rain_mm, window: 3h, gte: 99}}
    """
    found = issues(plan_yaml({"IV": RAIN}, extra=extra))
    assert ("overrides[0]", found[0][1], found[0][2]) == found[0]
    assert "division-code prefixes" in found[0][1]
    fixed = extra.replace('"5x"', '"51"')
    ((path, message, _),) = issues(plan_yaml({"IV": RAIN}, extra=fixed))
    assert path == "overrides[0].levels.I"
    assert "must give its trigger and actions" in message


def test_not_yaml_or_not_a_mapping(tmp_path: Path) -> None:
    assert issues("id: [unclosed\n")[0][1].startswith("not valid YAML")
    assert issues("- a\n- b\n") == [("", "a plan is a mapping (id, name, hazard, …)", None)]
    with pytest.raises(PlanError) as info:
        load_plan(tmp_path / "missing.yaml")
    assert "cannot read" in str(info.value)


def test_all_errors_of_all_files_at_once(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(plan_yaml({"IV": RAIN}, extra="x: 1"), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(plan_yaml({"IV": RAIN}), encoding="utf-8")
    (tmp_path / "c.yaml").write_text(plan_yaml({"IV": RAIN}), encoding="utf-8")
    with pytest.raises(PlanError) as info:
        load_plans(tmp_path)
    text = str(info.value)
    assert "a.yaml:11: x: unknown field 'x'" in text
    assert "c.yaml: id: plan id 'test' is also used by" in text
    assert "Traceback" not in text
    assert list(load_files([tmp_path / "b.yaml"])) == ["test"]


def test_schema_file_is_current() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), \
        "run: python -m contingency_plans schema --write"


def test_schema_accepts_the_shipped_plans_and_rejects_a_broken_one() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    for path in sorted(PLANS_DIR.glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), schema)
    broken = yaml.safe_load(plan_yaml({"IV": RAIN}, extra="x: 1"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
