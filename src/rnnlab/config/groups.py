"""The one list of rnnlab's config groups, and what rnnlab itself passes to what they build.

Every other place that needs to know the groups (validation, the run directory's resume check,
TensorBoard's HPARAMS tab, the console's config tree) reads it from here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    """A config group. ``defines_run``: a run directory can only be resumed with the same value;
    ``hparam``: its choice leads the HPARAMS tab and run comparisons."""

    name: str
    defines_run: bool = False
    hparam: bool = False


GROUPS: tuple[Group, ...] = (
    Group("data", defines_run=True, hparam=True),
    Group("model", defines_run=True, hparam=True),
    Group("task", defines_run=True, hparam=True),
    Group("optimizer", defines_run=True, hparam=True),
    Group("scheduler", defines_run=True, hparam=True),
    Group("monitor"),  # metric + mode of the best checkpoint; a task may choose its default
    Group("trainer", hparam=True),
    Group("logger"),
    Group("callbacks"),
    Group("extras"),
    Group("debug"),
    Group("paths"),
    Group("experiment"),
    Group("hparams_search"),  # an Optuna search: sets hydra.sweeper (and may fix other keys)
)
GROUP_NAMES: tuple[str, ...] = tuple(group.name for group in GROUPS)
# Top-level keys that, like the defining groups, fix what a run computes.
DEFINING_TOP_LEVEL: tuple[str, ...] = ("seed", "deterministic", "monitor")
DEFINING_KEYS: tuple[str, ...] = (
    *(group.name for group in GROUPS if group.defines_run),
    *DEFINING_TOP_LEVEL,
)
HPARAM_GROUPS: tuple[str, ...] = tuple(group.name for group in GROUPS if group.hparam)

# The arguments rnnlab passes itself when it builds the component at each config key: they are
# not config keys (validation skips them), and the builder refuses to inject any other.
INJECTED: dict[str, tuple[str, ...]] = {
    "data": (),
    "model": ("input_size", "input_channels"),  # vector cores: input_size; spatial: channels
    "task": ("model", "optimizer", "data_spec", "scheduler"),
    "task.head": ("in_features", "out_features"),
    "optimizer": ("params",),
    "scheduler": ("optimizer", "total_steps"),  # total_steps: those that need it
    "trainer": ("logger", "callbacks", "plugins"),
    "logger": (),
    "callbacks": (),
}

# Keys rnnlab reads itself at a config key, for what it builds around the component there (the
# model's frame encoder and decoder): named by the class whose parameters they are. They are
# allowed beside the ``_target_``'s parameters, follow that class's ``value_rules``, and are not
# passed to the ``_target_``.
ADAPTERS: dict[str, str] = {"model": "rnnlab.models.sequence_model.FrameAdapters"}

# Keys rnnlab reads itself at a config key, before it builds the component there, named by the
# classes whose parameters (and ``value_rules``) they are: they are allowed beside the
# ``_target_``'s parameters and never passed to it (``model.param_budget`` sizes the core).
OWN_KEYS: dict[str, tuple[str, ...]] = {"model": ("rnnlab.models.budget.ParamBudget",)}


def injected(key: str) -> tuple[str, ...]:
    """What rnnlab injects at ``key`` (``callbacks.<name>``, ``logger.<name>``: as their group)."""
    group = key.partition(".")[0]
    if key in INJECTED:
        return INJECTED[key]
    return INJECTED[group] if group in ("callbacks", "logger") else ()
