"""The region hierarchy: county → township / sub-district → village / community → grid.

Region ids follow the GB/T 2260 statistical division codes: 6 digits for a county, 9 for a
township / sub-district, 12 for a village / community, and ``<12 digits>-G<n>`` for a grid, so a
region's tier and parent follow from its id. Which regions exist is the directory's business
(``ANLAN_DIRECTORY_FILE``, imported into the database); :func:`load_region_ids` reads just the
ids of its ``regions`` section for the parts that only need to know a region exists (the
bridge checks the region a report names).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml

from anlan.errors import StartupError

Tier = Literal["county", "township", "community", "grid"]
TIERS: tuple[Tier, ...] = ("county", "township", "community", "grid")  # top → bottom
REGION_ID_PATTERN = r"^(\d{6}|\d{9}|\d{12}|\d{12}-G\d+)$"
"""A region id: a 6/9/12-digit division code or a grid ``<12 digits>-G<n>``."""

_REGION_ID = re.compile(REGION_ID_PATTERN)


def is_region_id(value: str) -> bool:
    """True when ``value`` has the shape of a region id (it may still not exist)."""
    return bool(_REGION_ID.match(value))


def tier_of(region_id: str) -> Tier:
    """The tier a region id denotes (by its shape); ``ValueError`` for a malformed id."""
    if not _REGION_ID.match(region_id):
        raise ValueError(f"region id {region_id!r} is not a 6/9/12-digit division code or "
                         "<12 digits>-G<n> grid id")
    if "-G" in region_id:
        return "grid"
    return {6: "county", 9: "township", 12: "community"}[len(region_id)]  # type: ignore[return-value]


def parent_of(region_id: str) -> str | None:
    """The parent region id implied by the id's shape (None for a county)."""
    tier = tier_of(region_id)
    if tier == "grid":
        return region_id.split("-G")[0]
    return {"county": None, "township": region_id[:6], "community": region_id[:9]}[tier]


def division_code_of(region_id: str) -> str:
    """GB/T 2260-style code: 6 digits for a county, the 12-digit statistical code below."""
    tier = tier_of(region_id)
    if tier == "county":
        return region_id
    if tier == "township":
        return region_id + "000"
    return region_id.split("-G")[0]


class RegionsError(StartupError, ValueError):
    """The directory file is missing or its regions are not a list of ``{id: …}``."""


def load_region_ids(path: Path) -> frozenset[str]:
    """The ids of the ``regions`` section of a directory YAML file (the rest is not read)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise RegionsError(f"directory file not found: {path} (set ANLAN_DIRECTORY_FILE)"
                           ) from exc
    except (OSError, yaml.YAMLError) as exc:
        raise RegionsError(f"{path}: cannot read the directory: {exc}") from exc
    regions = data.get("regions") if isinstance(data, dict) else None
    if not isinstance(regions, list):
        raise RegionsError(f"{path}: expected a 'regions' list")
    ids = []
    for i, entry in enumerate(regions):
        rid = str(entry.get("id", "")) if isinstance(entry, dict) else ""
        if not is_region_id(rid):
            raise RegionsError(f"{path}: regions[{i}]: {rid!r} is not a region id")
        ids.append(rid)
    return frozenset(ids)
