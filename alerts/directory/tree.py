"""Region tree queries over a :class:`Directory` (pure)."""

from __future__ import annotations

from alerts.directory.model import TIERS, Directory, Region, Tier, parent_of, tier_of


def _implied_parent(region_id: str) -> str | None:
    try:
        return parent_of(region_id)
    except ValueError:
        return None


class RegionTree:
    """Parent / child lookups over the directory's regions."""

    def __init__(self, directory: Directory) -> None:
        self.regions: dict[str, Region] = {r.id: r for r in directory.regions}
        self.children: dict[str, list[str]] = {}
        for r in directory.regions:
            if r.parent is not None:
                self.children.setdefault(r.parent, []).append(r.id)

    def tier(self, region_id: str) -> Tier:
        region = self.regions.get(region_id)
        return region.tier if region is not None and region.tier else tier_of(region_id)

    def name(self, region_id: str) -> str:
        region = self.regions.get(region_id)
        return region.name if region else region_id

    def ancestors(self, region_id: str) -> list[str]:
        """The region itself, then its parent, … up to the county (a region missing from the
        directory still climbs by the shape of its division code)."""
        chain: list[str] = []
        current: str | None = region_id
        while current is not None and current not in chain:
            chain.append(current)
            region = self.regions.get(current)
            current = region.parent if region is not None else _implied_parent(current)
        return chain

    def descendants(self, region_id: str) -> list[str]:
        """Every region below ``region_id`` (not itself), breadth first."""
        out: list[str] = []
        queue = list(self.children.get(region_id, []))
        while queue:
            rid = queue.pop(0)
            out.append(rid)
            queue.extend(self.children.get(rid, []))
        return out

    def walk(self, region_id: str) -> list[str]:
        """``region_id`` and everything below it, depth first (children in id order)."""
        out = [region_id]
        for child in sorted(self.children.get(region_id, [])):
            out.extend(self.walk(child))
        return out

    def at_tier(self, region_id: str, tier: Tier) -> list[str]:
        """The regions of ``tier`` that cover ``region_id``: its ancestor at that tier when the
        tier is above (or equal), else its descendants at that tier."""
        own = TIERS.index(self.tier(region_id))
        want = TIERS.index(tier)
        if want <= own:
            return [r for r in self.ancestors(region_id) if self.tier(r) == tier]
        return [r for r in self.descendants(region_id) if self.tier(r) == tier]

    def grids(self, region_id: str) -> list[str]:
        """The grids in ``region_id`` (itself when it is a grid)."""
        if self.tier(region_id) == "grid":
            return [region_id]
        return [r for r in self.descendants(region_id) if self.tier(r) == "grid"]

    def ring(self, home: str, around: str) -> int | None:
        """Distance class of ``home`` from the place ``around``: 0 same grid, 1 same community,
        2 same township, 3 same county; None when unrelated."""
        anc = self.ancestors(around)
        for dist, tier in enumerate(("grid", "community", "township", "county")):
            mine = [r for r in self.ancestors(home) if self.tier(r) == tier]
            theirs = [r for r in anc if self.tier(r) == tier]
            if mine and theirs and mine[0] == theirs[0]:
                return dist
        return None
