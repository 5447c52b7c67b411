"""Region-subtree scoping (pure).

Region ids nest by prefix: 360121 ⊃ 360121100 ⊃ 360121100001 ⊃ 360121100001-G1. A user sees
and acts on the regions in the subtree rooted at their own region. A grid is a leaf: the scope
``…-G1`` does not contain ``…-G10``.
"""

from __future__ import annotations

ROLES = ("admin", "duty_officer", "leader", "grid_worker", "technician", "viewer")
ACTING_ROLES = frozenset({"admin", "duty_officer", "leader"})  # ack / resolve / escalate / issue
DIRECTORY_ROLES = frozenset({"admin", "duty_officer"})  # edit reference data in their subtree
DEADLETTER_ROLES = frozenset({"admin", "technician", "duty_officer"})  # read rejected data


def in_scope(scope: str, region: str | None) -> bool:
    """True when ``region`` lies in the subtree rooted at ``scope``."""
    if not region:
        return False
    if region == scope:
        return True
    return "-G" not in scope and region.startswith(scope)


def narrow(scope: str, wanted: str | None) -> str | None:
    """The region filter to apply: ``wanted`` when inside ``scope``, ``scope`` when None, and
    None when ``wanted`` lies outside (the caller answers 403)."""
    if wanted is None or wanted == "":
        return scope
    return wanted if in_scope(scope, wanted) else None


def scope_sql(column: str, param: str = "scope") -> str:
    """SQL condition ``column`` in the subtree of ``%(param)s`` (same rule as :func:`in_scope`).

    Uses ``LIKE %(param_like)s`` (see :func:`scope_params`), which PostgreSQL estimates well and
    can serve from a ``text_pattern_ops`` index."""
    return (f"({column} = %({param})s OR (strpos(%({param})s, '-G') = 0 "
            f"AND {column} LIKE %({param}_like)s))")


def scope_params(scope: str, param: str = "scope") -> dict[str, str]:
    """The parameters :func:`scope_sql` needs."""
    escaped = scope.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return {param: scope, f"{param}_like": escaped + "%"}
