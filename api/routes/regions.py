"""Regions of your area: a flat list (for pickers) and the tree with the worst active level."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from anlan.events import Level
from api.data import alerts as alert_repo
from api.data import directory as directory_repo
from api.deps import CurrentUser, DbConn
from api.scope import in_scope

router = APIRouter(prefix="/regions", tags=["regions"])


class RegionItem(BaseModel):
    id: str
    name: str
    tier: str
    parent: str | None
    depth: int


class RegionNode(BaseModel):
    id: str
    name: str
    tier: str
    worst_level: str  # the worst level of unresolved incidents in the subtree
    own_level: str  # … in this region itself
    active_alerts: int
    children: list[RegionNode]


def _regions(conn: DbConn, user: CurrentUser) -> list[Any]:
    return [r for r in directory_repo.load(conn).regions if in_scope(user.region, r.id)]


@router.get("", response_model=list[RegionItem])
def list_regions(user: CurrentUser, conn: DbConn) -> list[RegionItem]:
    """Regions in your area, depth-first (parents before children)."""
    regions = {r.id: r for r in _regions(conn, user)}
    out: list[RegionItem] = []

    def visit(rid: str, depth: int) -> None:
        r = regions[rid]
        out.append(RegionItem(id=r.id, name=r.name, tier=r.tier, parent=r.parent, depth=depth))
        for child in sorted(c for c, x in regions.items() if x.parent == rid):
            visit(child, depth + 1)

    for root in sorted(rid for rid, r in regions.items() if r.parent not in regions):
        visit(root, 0)
    return out


@router.get("/tree", response_model=list[RegionNode])
def region_tree(user: CurrentUser, conn: DbConn) -> list[RegionNode]:
    """The tree of your area with, per region, the worst level of its unresolved incidents."""
    regions = {r.id: r for r in _regions(conn, user)}
    active = {r["region"]: (int(r["rank"]), int(r["n"]))
              for r in alert_repo.active_levels(conn, user.region)}

    def build(rid: str) -> RegionNode:
        r = regions[rid]
        children = [build(c) for c in sorted(c for c, x in regions.items() if x.parent == rid)]
        own_rank, own_n = active.get(rid, (0, 0))
        worst = max([own_rank] + [Level(c.worst_level).rank for c in children])
        return RegionNode(id=rid, name=r.name, tier=r.tier, own_level=Level.from_rank(own_rank).value,
                          worst_level=Level.from_rank(worst).value, children=children,
                          active_alerts=own_n + sum(c.active_alerts for c in children))

    return [build(rid) for rid in sorted(rid for rid, r in regions.items()
                                         if r.parent not in regions)]
