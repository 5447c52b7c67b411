"""Directory CRUD and CSV import over real HTTP, written to the real directory tables."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import psycopg
import pytest

from alerts.directory import db as directory_db

pytestmark = pytest.mark.integration


def person(pid: str, region: str, **extra: object) -> dict:
    return {"id": pid, "name": "测试人员", "roles": ["grid_worker"], "region": region,
            "urls": ["json://127.0.0.1:9/hook"], **extra}


def test_people_crud_within_scope(as_user: Callable[[str], httpx.Client], db: psycopg.Connection
                                  ) -> None:
    c = as_user("cg_officer")
    put = c.put("/api/v1/directory/people/p-test-1", json=person("p-test-1", "360121100001-G2"))
    assert put.status_code == 200, put.text
    assert directory_db.load(db).person("p-test-1") is not None  # in the store, now
    audit = db.execute("SELECT actor, action FROM audit_log WHERE target = 'p-test-1'").fetchall()
    assert audit == [("cg_officer", "directory_put_people")]
    listed = {p["id"] for p in c.get("/api/v1/directory/people").json()}
    assert "p-test-1" in listed and "p-hk-duty" not in listed  # 河口镇 is not ours
    viewer = {p["id"]: p for p in as_user("cg_viewer").get("/api/v1/directory/people").json()}
    assert viewer["p-test-1"]["urls"] == ["json://…"]  # no secrets for viewers
    assert c.delete("/api/v1/directory/people/p-test-1").status_code == 204
    assert directory_db.load(db).person("p-test-1") is None
    assert c.delete("/api/v1/directory/people/p-test-1").status_code == 404


def test_directory_scoping_and_roles(as_user: Callable[[str], httpx.Client]) -> None:
    c = as_user("cg_officer")
    outside = c.put("/api/v1/directory/people/p-x", json=person("p-x", "360121101001"))
    assert outside.status_code == 403
    assert c.delete("/api/v1/directory/people/p-hk-duty").status_code == 403
    viewer = as_user("cg_viewer").put("/api/v1/directory/people/p-y",
                                      json=person("p-y", "360121100001"))
    assert viewer.status_code == 403


def test_directory_validation(as_user: Callable[[str], httpx.Client]) -> None:
    c = as_user("admin")
    bad = c.put("/api/v1/directory/people/p-z", json={"id": "p-z", "roles": ["king"],
                                                      "region": "360121100"})
    assert bad.status_code == 422
    assert {e["loc"][-1] for e in bad.json()["detail"]} >= {"name", "roles"}
    dangling = c.put("/api/v1/directory/people/p-z", json=person("p-z", "360121100009"))
    assert dangling.status_code == 422
    assert "region 360121100009 is not in the directory" in dangling.json()["detail"][0]["msg"]
    mismatch = c.put("/api/v1/directory/people/p-q", json=person("p-z", "360121100"))
    assert mismatch.status_code == 422
    in_use = c.delete("/api/v1/directory/people/p-gw-hkc1")  # responsible for residents
    assert in_use.status_code == 422 and "responsible" in in_use.json()["detail"][0]["msg"]


def test_regions_volunteers_vulnerable(as_user: Callable[[str], httpx.Client]) -> None:
    c = as_user("cg_officer")
    grid = c.put("/api/v1/directory/regions/360121100002-G2",
                 json={"id": "360121100002-G2", "name": "桥东社区第二网格"})
    assert grid.status_code == 200 and grid.json()["tier"] == "grid"
    assert c.put("/api/v1/directory/people/v-test", json={
        "id": "v-test", "name": "志愿者甲", "roles": ["volunteer"], "region": "360121100002-G2",
        "urls": ["log://v-test"]}).status_code == 200
    vol = c.put("/api/v1/directory/volunteers/v-test", json={
        "person": "v-test", "skills": ["sandbag"], "home_grid": "360121100002-G2"})
    assert vol.status_code == 200, vol.text
    res = c.put("/api/v1/directory/vulnerable/r-test", json={
        "id": "r-test", "name": "王奶奶", "category": "elderly_alone", "grid": "360121100002-G2",
        "responsible": "p-gw-qd1"})
    assert res.status_code == 200, res.text
    assert "r-test" in {r["id"] for r in c.get("/api/v1/directory/vulnerable").json()}
    assert "v-test" in {v["person"] for v in c.get("/api/v1/directory/volunteers").json()}


def test_csv_import(as_user: Callable[[str], httpx.Client], db: psycopg.Connection) -> None:
    sheet = ("id,name,roles,region,urls,skills,home_grid\n"
             "v-csv-1,赵六,volunteer,360121100001-G2,log://v-csv-1,boat;first_aid,"
             "360121100001-G2\n"
             "p-csv-2,钱七,grid_worker,360121100001-G1,log://p-csv-2,,\n")
    c = as_user("cg_officer")
    resp = c.post("/api/v1/directory/import",
                  files={"file": ("people.csv", sheet.encode(), "text/csv")})
    assert resp.status_code == 200, resp.text
    stored = directory_db.load(db)
    assert stored.person("v-csv-1") is not None and stored.person("p-csv-2") is not None
    assert any(v.person == "v-csv-1" and v.skills == ("boat", "first_aid")
               for v in stored.volunteers)
    outside = sheet.replace("360121100001-G1", "360121101001-G1")
    assert c.post("/api/v1/directory/import", files={
        "file": ("people.csv", outside.encode(), "text/csv")}).status_code == 403
    broken = "id,name\nx,y\n"
    bad = c.post("/api/v1/directory/import", files={"file": ("p.csv", broken.encode())})
    assert bad.status_code == 422
    missing = as_user("admin").post("/api/v1/directory/import",
                                    files={"file": ("p.csv", broken.encode())})
    assert missing.status_code == 422 and "missing columns" in missing.json()["detail"][0]["msg"]
    assert c.post("/api/v1/directory/import", files={
        "file": ("d.yaml", b"regions: []")}).status_code == 403
    assert c.post("/api/v1/directory/import").status_code == 422
