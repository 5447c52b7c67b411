"""The incident lifecycle (pure): one incident per plan + region and scope (real or a drill's),
driven by signals and commands."""

from streams.incidents.machine import Outputs, Slot, apply_command, apply_signal
from streams.incidents.model import (
    Incident,
    Target,
    command_target,
    incident_slot_key,
    parse_target,
)
from streams.incidents.planview import LevelActions, PlanView, TaskSpec

__all__ = [
           "Incident",
           "LevelActions",
           "Outputs",
           "PlanView",
           "Slot",
           "Target",
           "TaskSpec",
           "apply_command",
           "apply_signal",
           "command_target",
           "incident_slot_key",
           "parse_target",
]
