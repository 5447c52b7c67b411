"""Parse a directory from YAML (the whole directory) or CSV (a people sheet)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from alerts.directory.model import Directory, Person, Volunteer
from anlan.errors import PermanentError

CSV_COLUMNS = ("id", "name", "roles", "region", "urls", "lang", "phone",
               "skills", "home_grid", "available")


def _explain(exc: ValidationError, where: str) -> PermanentError:
    parts = []
    for err in exc.errors()[:10]:
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
    return PermanentError(f"{where}: " + "; ".join(parts))


def parse_yaml(text: str, where: str = "directory") -> Directory:
    """A whole directory from YAML text; :class:`PermanentError` says what is wrong."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise PermanentError(f"{where}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PermanentError(f"{where}: expected a mapping with regions, people, duty, …")
    data = _flatten_volunteers(data)
    try:
        return Directory.model_validate(data)
    except ValidationError as exc:
        raise _explain(exc, where) from exc


def _flatten_volunteers(data: dict[str, Any]) -> dict[str, Any]:
    """Allow ``volunteer: {skills, home_grid, available}`` inline on a person."""
    people = []
    volunteers = list(data.get("volunteers") or [])
    for raw in data.get("people") or []:
        if isinstance(raw, dict) and "volunteer" in raw:
            raw = dict(raw)
            extra = raw.pop("volunteer") or {}
            volunteers.append({"person": raw.get("id"), **extra})
        people.append(raw)
    return {**data, "people": people, "volunteers": volunteers}


def parse_csv(text: str, base: Directory, where: str = "people.csv") -> Directory:
    """Upsert the people (and volunteer details) of a CSV sheet into ``base``.

    Columns: id, name, roles (``;``-separated), region, urls (``|``-separated, primary first),
    lang, phone, skills (``;``), home_grid, available (true/false). Regions must exist in base.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = {"id", "name", "roles", "region"} - set(reader.fieldnames or [])
    if missing:
        raise PermanentError(f"{where}: missing columns {', '.join(sorted(missing))}")
    people = {p.id: p for p in base.people}
    volunteers = {v.person: v for v in base.volunteers}
    for lineno, row in enumerate(reader, start=2):
        try:
            person = Person.model_validate({
                "id": row["id"].strip(), "name": row["name"].strip(),
                "roles": _split(row["roles"], ";"), "region": row["region"].strip(),
                "urls": _split(row.get("urls") or "", "|"),
                "lang": (row.get("lang") or "zh-CN").strip() or "zh-CN",
                "phone": (row.get("phone") or "").strip() or None})
            people[person.id] = person
            if (row.get("home_grid") or "").strip():
                volunteers[person.id] = Volunteer(
                    person=person.id, skills=tuple(_split(row.get("skills") or "", ";")),
                    home_grid=row["home_grid"].strip(),
                    available=(row.get("available") or "true").strip().lower()
                    not in {"false", "0", "no", "n", "否"})
        except ValidationError as exc:
            raise _explain(exc, f"{where} line {lineno}") from exc
    try:
        return Directory(regions=base.regions, people=tuple(people.values()), duty=base.duty,
                         volunteers=tuple(volunteers.values()), vulnerable=base.vulnerable)
    except ValidationError as exc:
        raise _explain(exc, where) from exc


def _split(value: str, sep: str) -> list[str]:
    return [part.strip() for part in value.split(sep) if part.strip()]


def read_file(path: Path, base: Directory | None = None) -> Directory:
    """A directory from ``path`` (.yaml/.yml whole; .csv people merged into ``base``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PermanentError(f"{path}: {exc.strerror or exc}") from exc
    if path.suffix.lower() in {".yaml", ".yml"}:
        return parse_yaml(text, str(path))
    if path.suffix.lower() == ".csv":
        return parse_csv(text, base or Directory(), str(path))
    raise PermanentError(f"{path}: expected a .yaml, .yml or .csv file")
