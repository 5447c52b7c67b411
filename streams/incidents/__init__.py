"""The incident lifecycle (pure): one incident per plan + region, driven by signals and commands."""

from streams.incidents.machine import Outputs, Slot, apply_command, apply_signal
from streams.incidents.model import Incident, incident_slot_key, parse_target
from streams.incidents.planview import LevelActions, PlanView, TaskSpec

__all__ = [
           "Incident",
           "LevelActions",
           "Outputs",
           "PlanView",
           "Slot",
           "TaskSpec",
           "apply_command",
           "apply_signal",
           "incident_slot_key",
           "parse_target",
]
