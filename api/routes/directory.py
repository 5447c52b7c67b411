"""Directory CRUD (regions, people, volunteers, vulnerable residents) and CSV / YAML import.

Reference data, written directly to the database (not via Kafka). Reads and writes are limited
to the caller's region subtree; writes need the ``admin`` or ``duty_officer`` role.
"""
# no `from __future__ import annotations`: the route factory below passes models at runtime

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, UploadFile, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from alerts.directory import Person, Region, Volunteer, VulnerableResident
from anlan.errors import PermanentError
from api.data import audit
from api.data import directory as repo
from api.deps import CurrentUser, DbConn, DirectoryUser, User
from api.scope import DIRECTORY_ROLES, in_scope
from api.validation import check_storable, invalid

router = APIRouter(prefix="/directory", tags=["directory"])

# section → (model, id field, field holding the entry's region)
SECTIONS: dict[str, tuple[type[BaseModel], str, str]] = {
    "regions": (Region, "id", "id"),
    "people": (Person, "id", "region"),
    "volunteers": (Volunteer, "person", "home_grid"),
    "vulnerable": (VulnerableResident, "id", "grid"),
}


class ImportResult(BaseModel):
    counts: dict[str, int]


def _visible(user: User, section: str, entry: BaseModel) -> dict[str, Any]:
    data = entry.model_dump(mode="json", by_alias=True)
    if section == "people" and user.role not in DIRECTORY_ROLES:
        data["urls"] = [u.split("://", 1)[0] + "://…" for u in data["urls"]]  # secrets
    return data


def _fail(exc: PermanentError) -> RequestValidationError:
    return invalid(("body",), str(exc))


def _add_section(section: str, model: type[BaseModel], key: str, region_field: str) -> None:
    def list_entries(user: CurrentUser, conn: DbConn) -> list[dict[str, Any]]:
        entries = getattr(repo.load(conn), section)
        return [_visible(user, section, e) for e in entries
                if user_can_see(user, getattr(e, region_field))]

    def put_entry(entry_id: Annotated[str, Path(max_length=64)], body: model,  # type: ignore[valid-type]
                  user: DirectoryUser, conn: DbConn) -> dict[str, Any]:
        if getattr(body, key) != entry_id:
            raise invalid(("body", key),
                          f"{key} in the body ({getattr(body, key)}) differs from the path")
        check_storable(body, ("body",))
        user.check_region(getattr(body, region_field))
        existing = next((e for e in getattr(repo.load(conn), section)
                         if getattr(e, key) == entry_id), None)
        if existing is not None:
            user.check_region(getattr(existing, region_field))
        entry = body.model_dump(mode="python", by_alias=True)  # type: ignore[attr-defined]
        try:
            repo.upsert(conn, section, entry, f"api:{user.username}")
        except PermanentError as exc:
            raise _fail(exc) from exc
        audit.record(conn, user.username, f"directory_put_{section}", entry_id, {})
        return _visible(user, section, body)

    def delete_entry(entry_id: Annotated[str, Path(max_length=64)], user: DirectoryUser,
                     conn: DbConn) -> None:
        existing = next((e for e in getattr(repo.load(conn), section)
                         if getattr(e, key) == entry_id), None)
        if existing is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {section} entry {entry_id}")
        user.check_region(getattr(existing, region_field))
        try:
            repo.delete(conn, section, entry_id, f"api:{user.username}")
        except PermanentError as exc:
            raise _fail(exc) from exc
        audit.record(conn, user.username, f"directory_delete_{section}", entry_id, {})

    router.add_api_route(f"/{section}", list_entries, methods=["GET"],
                         summary=f"List {section} in your area", name=f"list_{section}")
    router.add_api_route(f"/{section}/{{entry_id:path}}", put_entry, methods=["PUT"],
                         summary=f"Create or replace one of {section}", name=f"put_{section}")
    router.add_api_route(f"/{section}/{{entry_id:path}}", delete_entry, methods=["DELETE"],
                         status_code=status.HTTP_204_NO_CONTENT,
                         summary=f"Delete one of {section}", name=f"delete_{section}")


def user_can_see(user: User, region: str) -> bool:
    return in_scope(user.region, region)


for _section, (_model, _key, _region) in SECTIONS.items():
    _add_section(_section, _model, _key, _region)


@router.post("/import", response_model=ImportResult)
async def import_file(file: UploadFile, user: DirectoryUser, conn: DbConn) -> ImportResult:
    """Import a people sheet (``.csv``: id, name, roles, region, urls, lang, phone, skills,
    home_grid, available) merged into the directory, or a whole directory (``.yaml``, county
    administrators only). Every row must lie in your area."""
    name = file.filename or "upload"
    text = (await file.read()).decode("utf-8-sig", errors="replace")
    check_storable(text, ("body", "file"))
    return await run_in_threadpool(_import_sync, name, text, user, conn)


def _import_sync(name: str, text: str, user: User, conn: Any) -> ImportResult:
    source = f"api:{user.username}:{name}"
    lower = name.lower()
    if lower.endswith(".csv"):
        if not _csv_in_scope(user, text):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "the sheet has rows outside your area")
        action = repo.import_csv
    elif lower.endswith((".yaml", ".yml")):
        if user.role != "admin" or len(user.region) != 6:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                "a whole directory is imported by a county administrator")
        action = repo.import_yaml
    else:
        raise invalid(("body", "file"), "file must be .csv (people) or .yaml (whole directory)")
    try:
        result = action(conn, text, source)
    except PermanentError as exc:
        raise _fail(exc) from exc
    audit.record(conn, user.username, "directory_import", name, {"bytes": len(text)})
    return ImportResult(counts={s: len(getattr(result, s)) for s in SECTIONS})


def _csv_in_scope(user: User, text: str) -> bool:
    rows = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    regions = [(r.get("region") or "").strip() for r in rows]
    return all(in_scope(user.region, region) for region in regions if region)
