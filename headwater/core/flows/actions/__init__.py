"""The built-in actions, one module per family; pyproject.toml declares each module's
``ACTIONS`` under the ``headwater.actions`` entry-point group."""

from headwater.core.flows.actions import control, data, events, outbound, profile, text
from headwater.core.flows.registry import ActionSpec

__all__ = ["BUILTIN_ACTIONS"]

BUILTIN_ACTIONS: tuple[ActionSpec, ...] = (
    *control.ACTIONS,
    *data.ACTIONS,
    *text.ACTIONS,
    *profile.ACTIONS,
    *events.ACTIONS,
    *outbound.ACTIONS,
)
