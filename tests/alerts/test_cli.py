"""``anlan directory import|show`` against PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from alerts.directory import db as dirdb
from anlan.cli import run
from tests.alerts.helpers import DEMO_FILE

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("restore_demo_directory")]


def test_directory_import_and_show(database_url: str, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ANLAN_DATABASE_URL", database_url)
    assert run(["directory", "import", str(DEMO_FILE)]) == 0
    assert "imported 10 regions, 18 people, 4 duty, 5 volunteers, 4 vulnerable" in \
        capsys.readouterr().out
    sheet = tmp_path / "people.csv"
    sheet.write_text("id,name,roles,region,urls,skills,home_grid\n"
                     "v-900,新志愿者,volunteer,360121100001-G1,json://h/x,boat,"
                     "360121100001-G1\n", encoding="utf-8")
    assert run(["directory", "import", str(sheet)]) == 0
    with psycopg.connect(database_url) as conn:
        d = dirdb.load(conn)
    assert d.person("v-900") is not None and len(d.people) == 19
    assert d.person("p-cg-duty") is not None  # the CSV merged, it did not replace
    assert run(["directory", "show"]) == 0
    out = capsys.readouterr().out
    assert "360121100 城关镇 (township)  on duty: 刘洋 (p-cg-duty)" in out
    lines = [ln.strip().split(" ")[0] for ln in out.splitlines() if ln.strip()[:1].isdigit()]
    assert lines.index("360121100001") < lines.index("360121100001-G1") < \
        lines.index("360121100002") < lines.index("360121101")  # depth first
    assert "新志愿者[volunteer; 1 url(s)]" in out


def test_directory_import_rejects_bad_files(database_url: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ANLAN_DATABASE_URL", database_url)
    bad = tmp_path / "bad.yaml"
    bad.write_text("people: [{id: p, name: P, roles: [leader], region: '999999'}]\n")
    assert run(["directory", "import", str(bad)]) == 1
    assert "region 999999 is not in the directory" in capsys.readouterr().out
    assert run(["directory", "import", "--dry-run", str(DEMO_FILE)]) == 0
    assert run(["directory", "import", str(tmp_path / "missing.yaml")]) == 1


def test_database_down_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ANLAN_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none")
    assert run(["directory", "show"]) == 2
    assert capsys.readouterr().err.startswith("anlan directory: error: database:")
