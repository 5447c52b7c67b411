"""Directory repository: regions, people, duty roster, volunteers and vulnerable residents.

Works on plain dicts (the shape of ``alerts.directory.Directory.model_dump(by_alias=True)``) so
that ``store`` depends on nothing but ``anlan``. An import replaces the whole directory in one
transaction, so readers never see half a directory.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

Rows = dict[str, list[dict[str, Any]]]
SECTIONS = ("regions", "people", "duty", "volunteers", "vulnerable")


def replace_directory(conn: psycopg.Connection[Any], rows: Rows, source: str) -> dict[str, int]:
    """Replace the stored directory with ``rows``; return the count per section."""
    with conn.transaction():
        conn.execute("LOCK TABLE dir_regions IN EXCLUSIVE MODE")
        for table in ("dir_regions", "dir_people", "dir_duty", "dir_volunteers",
                      "dir_vulnerable"):
            conn.execute(f"DELETE FROM {table}")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO dir_regions (id, name, tier, parent_id, division_code) "
                "VALUES (%(id)s, %(name)s, %(tier)s, %(parent)s, %(division_code)s)",
                rows.get("regions", []))
            cur.executemany(
                "INSERT INTO dir_people (id, name, roles, region, urls, lang, phone) VALUES "
                "(%(id)s, %(name)s, %(roles)s, %(region)s, %(urls)s, %(lang)s, %(phone)s)",
                [{**p, "roles": list(p["roles"]), "urls": list(p["urls"])}
                 for p in rows.get("people", [])])
            cur.executemany(
                "INSERT INTO dir_duty (person_id, region, starts_at, ends_at, weekdays, "
                "daily_from, daily_to) VALUES (%(person)s, %(region)s, %(start)s, %(end)s, "
                "%(weekdays)s, %(from)s, %(to)s)",
                [{**d, "weekdays": list(d["weekdays"])} for d in rows.get("duty", [])])
            cur.executemany(
                "INSERT INTO dir_volunteers (person_id, skills, home_grid, available) VALUES "
                "(%(person)s, %(skills)s, %(home_grid)s, %(available)s)",
                [{**v, "skills": list(v["skills"])} for v in rows.get("volunteers", [])])
            cur.executemany(
                "INSERT INTO dir_vulnerable (id, name, category, grid, address, needs, "
                "contact, responsible) VALUES (%(id)s, %(name)s, %(category)s, %(grid)s, "
                "%(address)s, %(needs)s, %(contact)s, %(responsible)s)",
                rows.get("vulnerable", []))
        counts = {s: len(rows.get(s, [])) for s in SECTIONS}
        conn.execute("INSERT INTO dir_imports (source, counts) VALUES (%s, %s)",
                     (source, Jsonb(counts)))
    return counts


def read_directory(conn: psycopg.Connection[Any]) -> Rows:
    """The stored directory as plain rows (keys as in :func:`replace_directory`)."""
    def rows(query: str) -> list[dict[str, Any]]:
        cur = conn.execute(query)
        names = [c.name for c in cur.description or []]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    return {
        "regions": rows("SELECT id, name, tier, parent_id AS parent, division_code "
                        "FROM dir_regions ORDER BY id"),
        "people": rows("SELECT id, name, roles, region, urls, lang, phone FROM dir_people "
                       "ORDER BY id"),
        "duty": rows('SELECT person_id AS person, region, starts_at AS start, ends_at AS "end", '
                     'weekdays, daily_from AS "from", daily_to AS "to" FROM dir_duty ORDER BY id'),
        "volunteers": rows("SELECT person_id AS person, skills, home_grid, available "
                           "FROM dir_volunteers ORDER BY person_id"),
        "vulnerable": rows("SELECT id, name, category, grid, address, needs, contact, "
                           "responsible FROM dir_vulnerable ORDER BY id"),
    }


def directory_version(conn: psycopg.Connection[Any]) -> int:
    """Id of the latest import (0 when none): lets a long-running reader reload on change."""
    row = conn.execute("SELECT coalesce(max(id), 0) FROM dir_imports").fetchone()
    return int(row[0]) if row else 0


def region_ids(conn: psycopg.Connection[Any]) -> frozenset[str]:
    """The ids of the stored directory's regions."""
    return frozenset(r[0] for r in conn.execute("SELECT id FROM dir_regions").fetchall())
