"""Runs -> studies -> groups -> statistics: what a comparison says, before it is rendered.

- *variant keys* (``--by``; by default every key that varies across the runs except seed keys,
  and except ``task``/``data`` when other keys vary too) name a group: ``gru``,
  ``model=gru, optimizer.lr=0.01``;
- *study keys* (``--across``; by default ``task`` and ``data`` where they vary) split the runs
  into studies: variants are compared within a study, and ranked across studies when there are
  several (Demšar 2006);
- *pooled keys*: any other varying key (only with ``--by``) is mixed within each group, e.g. the
  trials of a hyperparameter search compared ``--by model``;
- each group's completed runs give one value per seed of every final metric; the *primary*
  metric (``--metric``, by default the test value of the monitored metric) is compared against
  the reference group (the best one, or ``--baseline``) with Holm-corrected p-values over every
  comparison in the report.
"""

from __future__ import annotations

import difflib
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rnnlab.report import stats
from rnnlab.report.runs import (
    STATUSES,
    CompareError,
    Run,
    find_runs,
    is_seed_key,
    varying_keys,
)

ALPHA = 0.05
STUDY_KEYS = ("task", "data")  # varying keys that make separate studies by default
HIGHER_IS_BETTER = ("acc", "f1", "auroc", "auc", "precision", "recall", "psnr", "ssim", "iou")
LOWER_IS_BETTER = ("loss", "mse", "mae", "error", "err", "perplexity", "nll")


@dataclass
class Group:
    """The runs of one variant in one study, and their statistics."""

    label: str
    setting: dict[str, str]  # variant key -> value
    runs: list[Run]
    counts: dict[str, int]
    values: dict[str, list[float]]  # metric -> values of completed runs (in seed order)
    seeds: dict[str, list[object]]  # metric -> seeds of those values
    summaries: dict[str, stats.Summary] = field(default_factory=dict)
    parameters: float | None = None
    wall_time_s: float | None = None
    samples_per_s: float | None = None
    # against the study's reference group, on the primary metric
    difference: stats.Difference | None = None
    p_holm: float = math.nan
    prob_better: float = math.nan  # P(this group beats the reference)

    @property
    def n(self) -> int:
        return len(self.runs)

    def counts_text(self) -> str:
        """``3`` when every run completed, else ``2 completed, 1 failed``."""
        if set(self.counts) <= {"completed"}:
            return str(self.counts.get("completed", 0))
        parts = [f"{self.counts.get(s, 0)} {s}" for s in STATUSES if self.counts.get(s)]
        return ", ".join(parts) or "0"

    @property
    def separated(self) -> bool:
        return self.p_holm < ALPHA


@dataclass
class Study:
    label: str  # "" when the comparison has one study
    groups: list[Group]
    metric: str
    higher_is_better: bool
    curve_metric: str | None  # the monitored metric: learning curves
    reference: Group | None = None
    reference_is_baseline: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def direction(self) -> str:
        return "higher is better" if self.higher_is_better else "lower is better"


@dataclass
class Comparison:
    sources: list[Path]
    runs: list[Run]
    variant_keys: list[str]
    study_keys: list[str]
    pooled_keys: list[str]
    studies: list[Study]
    metrics: list[str]  # every final metric some completed run has
    ranking: stats.Ranking | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(run.status for run in self.runs)


def compare(
    folders: Sequence[Path],
    by: Sequence[str] = (),
    metric: str | None = None,
    baseline: str | None = None,
    mode: str | None = None,
    across: Sequence[str] = (),
) -> Comparison:
    """Read every run under ``folders`` and compare its groups (see the module docstring)."""
    runs = find_runs(folders)
    varying = [k for k in varying_keys(runs) if not is_seed_key(k)]
    keys = list(runs[0].setting)
    across_keys = [_resolve_key(k, keys, varying, "--across") for k in across]
    if by:
        variant_keys = [_resolve_key(k, keys, varying, "--by") for k in by]
        study_keys = across_keys or [k for k in varying if k in STUDY_KEYS]
        study_keys = [k for k in study_keys if k not in variant_keys]
    else:
        study_keys = across_keys or [k for k in varying if k in STUDY_KEYS]
        variant_keys = [k for k in varying if k not in study_keys]
        # keys that follow the study (task=next_frame brings monitor=val_mse_per_frame) vary
        # between studies only: not variants
        following = _following(runs, variant_keys, study_keys)
        variant_keys = [k for k in variant_keys if k not in following]
        varying = [k for k in varying if k not in following]
        if not variant_keys and not across_keys:  # only the task or data varies: compare those
            variant_keys, study_keys = study_keys, []
    pooled_keys = [k for k in varying if k not in variant_keys and k not in study_keys]
    completed = [run for run in runs if run.status == "completed"]
    if not completed:
        counts = ", ".join(f"{n} {s}" for s, n in Counter(r.status for r in runs).items())
        raise CompareError(
            f"None of the {len(runs)} runs under {', '.join(map(str, folders))} has completed "
            f"({counts}): there are no final metrics to compare yet. Run rnnlab-compare again "
            "when some runs have finished (failed runs say why in their run.json and train.log)."
        )
    all_metrics = sorted({m for run in completed for m in run.final}, key=_metric_order)
    if metric is not None and metric not in all_metrics:
        close = difflib.get_close_matches(metric, all_metrics, n=1)
        hint = f" Did you mean {close[0]}?" if close else ""
        raise CompareError(
            f"No completed run has the metric {metric!r}.{hint} The runs have: "
            f"{', '.join(all_metrics)}."
        )
    if mode is not None and mode not in ("min", "max"):
        raise CompareError(f"--mode must be min or max, not {mode!r}.")

    studies = []
    notes: list[str] = []
    for study_label, study_runs in _split(runs, study_keys):
        study = _study(study_label, study_runs, variant_keys, metric, mode)
        if study is None:
            notes.append(f"{study_label or 'the runs'}: no completed run has {metric}; left out.")
            continue
        studies.append(study)
    if not any(len(g.values.get(s.metric, [])) >= 2 for s in studies for g in s.groups):
        _one_run_per_group(runs, variant_keys, varying)
    for study in studies:
        _compare_groups(study, baseline)
    if baseline is not None and not any(s.reference_is_baseline for s in studies):
        labels = sorted({g.label for s in studies for g in s.groups})
        raise CompareError(
            f"--baseline {baseline!r} is not a group of these runs. Groups: {', '.join(labels)}."
        )
    _holm_over_report(studies)
    comparison = Comparison(
        sources=[Path(f) for f in folders],
        runs=runs,
        variant_keys=variant_keys,
        study_keys=study_keys,
        pooled_keys=pooled_keys,
        studies=studies,
        metrics=all_metrics,
        notes=notes,
    )
    comparison.ranking = _rank(studies)
    return comparison


def _following(runs: list[Run], keys: list[str], study_keys: list[str]) -> list[str]:
    """Those of ``keys`` whose value never varies within a study (set by the study keys)."""
    if not study_keys:
        return []
    studies = [study_runs for _, study_runs in _split(runs, study_keys)]
    return [k for k in keys if all(len({r.setting[k] for r in rs}) == 1 for rs in studies)]


def _resolve_key(key: str, keys: list[str], varying: list[str], option: str) -> str:
    """``--by``/``--across`` take a setting key or its last part (``lr`` for ``optimizer.lr``)."""
    if key in keys:
        return key
    matches = [k for k in keys if k.rpartition(".")[2] == key]
    if len(matches) == 1:
        return matches[0]
    shown = varying or keys
    raise CompareError(
        f"{option} {key}: the runs have no setting {key!r}"
        + (f" (it could be {' or '.join(matches)})" if matches else "")
        + f". Keys that vary across these runs: {', '.join(shown) or 'none (only the seed)'}; "
        "group choices (model, task, data, optimizer, ...) and any overridden key work."
    )


def _one_run_per_group(runs: list[Run], variant_keys: list[str], varying: list[str]) -> None:
    choice_keys = [k for k in varying if "." not in k]
    suggestion = f" (e.g. --by {choice_keys[0]})" if choice_keys else ""
    differ = ", ".join(variant_keys) if variant_keys else "nothing but the seed"
    raise CompareError(
        f"Every group has at most one completed run, so there is no spread over seeds to "
        f"compare: the {len(runs)} runs are grouped by {differ}. Repeat each setting over "
        f"seeds (rnnlab-train -m ... seed=1,2,3), or group by fewer keys with --by{suggestion}; "
        "a hyperparameter search (each trial its own setting) compares by the keys it did not "
        "search."
    )


def _metric_order(name: str) -> tuple[int, str]:
    stage = name.partition("/")[0]
    return ({"test": 0, "val": 1, "train": 2}.get(stage, 3), name)


def _split(runs: list[Run], keys: list[str]) -> list[tuple[str, list[Run]]]:
    """Runs split by their values of ``keys``, in first-seen order; label ``k=v, ...``."""
    parts: dict[str, list[Run]] = {}
    for run in runs:
        label = _label(run, keys)
        parts.setdefault(label, []).append(run)
    return list(parts.items())


def _label(run: Run, keys: list[str]) -> str:
    if len(keys) == 1 and "." not in keys[0]:
        return run.setting[keys[0]]  # "gru" for --by model
    return ", ".join(f"{k}={run.setting[k]}" for k in keys)


def higher_is_better(metric: str, monitor: str | None, monitor_mode: str | None) -> bool | None:
    """max/min for ``metric``: the monitor's mode for the same quantity, else by its name."""
    suffix = metric.partition("/")[2] or metric
    if monitor and monitor_mode in ("min", "max"):
        monitored = monitor.partition("/")[2] or monitor
        if suffix in (monitored, f"{monitored}_best"):
            return monitor_mode == "max"
    words = suffix.replace("/", "_").split("_")
    if any(w in HIGHER_IS_BETTER for w in words):
        return True
    if any(w in LOWER_IS_BETTER for w in words):
        return False
    return None


def _study(
    label: str, runs: list[Run], variant_keys: list[str], metric: str | None, mode: str | None
) -> Study | None:
    completed = [r for r in runs if r.status == "completed"]
    monitor, monitor_mode = Counter(r.monitor for r in completed or runs).most_common(1)[0][0]
    names = {m for r in completed for m in r.final}
    if metric is None:
        test_name = f"test/{(monitor or '').partition('/')[2]}"
        metric = next((m for m in (test_name, monitor) if m in names), None)
        if metric is None:
            raise CompareError(
                f"{label or 'These runs'}: the runs have neither {test_name} nor the monitored "
                f"metric {monitor}; choose one with --metric. They have: "
                f"{', '.join(sorted(names, key=_metric_order))}."
            )
    elif metric not in names:
        return None
    better = {"max": True, "min": False}.get(mode or "")
    if better is None:
        better = higher_is_better(metric, monitor, monitor_mode)
    if better is None:
        raise CompareError(
            f"rnnlab-compare cannot tell whether a higher or a lower {metric} is better; "
            "say which with --mode max or --mode min."
        )
    groups = [
        _group(g_label, {k: g_runs[0].setting[k] for k in variant_keys}, g_runs)
        for g_label, g_runs in _split(runs, variant_keys)
    ]
    return Study(label, groups, metric, better, monitor)


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _group(label: str, setting: dict[str, str], runs: list[Run]) -> Group:
    completed = sorted(
        (r for r in runs if r.status == "completed"), key=lambda r: (str(r.seed), str(r.path))
    )
    values: dict[str, list[float]] = {}
    seeds: dict[str, list[object]] = {}
    for run in completed:
        for name, value in run.final.items():
            if math.isfinite(value):
                values.setdefault(name, []).append(value)
                seeds.setdefault(name, []).append(run.seed)
    group = Group(
        label=label,
        setting=setting,
        runs=runs,
        counts=dict(Counter(r.status for r in runs)),
        values=values,
        seeds=seeds,
        parameters=_mean([r.number("parameters") for r in completed]),
        wall_time_s=_mean([r.number("wall_time_s") for r in completed]),
        samples_per_s=_mean([r.number("throughput", "train_samples_per_s") for r in completed]),
    )
    group.summaries = {name: stats.summarize(v) for name, v in values.items()}
    return group


def _compare_groups(study: Study, baseline: str | None) -> None:
    """Pick the reference group and compare every other group with it on the primary metric."""
    metric = study.metric
    scored = [g for g in study.groups if g.values.get(metric)]
    if baseline is not None:
        study.reference = next((g for g in study.groups if _matches(g, baseline)), None)
        study.reference_is_baseline = study.reference is not None
    if study.reference is None and scored:
        sign = 1 if study.higher_is_better else -1
        study.reference = max(scored, key=lambda g: sign * g.summaries[metric].mean)
    reference = study.reference
    if reference is None or not reference.values.get(metric):
        return
    ref_values = reference.values[metric]
    for group in study.groups:
        if group is reference or not group.values.get(metric):
            continue
        x, y = group.values[metric], ref_values
        group.difference = stats.compare_pair(
            x, y, paired=_paired(group.seeds[metric], reference.seeds[metric])
        )
        group.prob_better = stats.probability_of_improvement(x, y, study.higher_is_better)


def _matches(group: Group, wanted: str) -> bool:
    """``--baseline``: the group's label, or ``key=value`` pairs it has (``model=rnn``), or the
    value of its only key."""
    if wanted.replace(" ", "") == group.label.replace(" ", ""):
        return True
    pairs = [p.strip().partition("=") for p in wanted.split(",")]
    if all(sep for _, sep, _ in pairs):
        return all(group.setting.get(k.strip()) == v.strip() for k, _, v in pairs)
    return len(group.setting) == 1 and wanted.strip() in group.setting.values()


def _paired(seeds_a: list[object], seeds_b: list[object]) -> bool:
    """Both groups ran the same seeds, each once (values are in seed order): a paired test."""
    return (
        len(seeds_a) >= 2
        and len(set(map(str, seeds_a))) == len(seeds_a)
        and sorted(map(str, seeds_a)) == sorted(map(str, seeds_b))
        and len(seeds_a) == len(seeds_b)
    )


def _holm_over_report(studies: list[Study]) -> None:
    tested = [g for s in studies for g in s.groups if g.difference is not None]
    adjusted = stats.holm([g.difference.p for g in tested])  # type: ignore[union-attr]
    for group, p in zip(tested, adjusted, strict=True):
        group.p_holm = p


def _rank(studies: list[Study]) -> stats.Ranking | None:
    """Average ranks when more than two variants were run in several studies."""
    if len(studies) < 2:
        return None
    labels = [g.label for g in studies[0].groups]
    usable = [
        s
        for s in studies
        if sorted(g.label for g in s.groups if g.values.get(s.metric)) == sorted(labels)
    ]
    if len(labels) < 3 or len(usable) < 2:
        return None
    scores = [
        [next(g for g in s.groups if g.label == label).summaries[s.metric].mean for label in labels]
        for s in usable
    ]
    return stats.rank_variants(scores, labels, [s.higher_is_better for s in usable])
