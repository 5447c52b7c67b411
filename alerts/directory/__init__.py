"""The directory of places and people (model, tree, YAML/CSV parsing)."""

from alerts.directory.load import parse_csv, parse_yaml, read_file
from alerts.directory.model import (
    BEIJING,
    ROLES,
    TIERS,
    Directory,
    DutyShift,
    Person,
    Region,
    Role,
    Tier,
    Volunteer,
    VulnerableResident,
    division_code_of,
    parent_of,
    tier_of,
)
from alerts.directory.tree import RegionTree

__all__ = [
    "BEIJING", "ROLES", "TIERS", "Directory", "DutyShift", "Person", "Region", "RegionTree",
    "Role", "Tier", "Volunteer", "VulnerableResident", "division_code_of", "parent_of",
    "parse_csv", "parse_yaml", "read_file", "tier_of",
]
