"""A comparison as text: the verdict sentences, comparison.md, comparison.csv, rich tables."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterator
from pathlib import Path

from rich import box
from rich.table import Table

from rnnlab.report.analysis import ALPHA, Comparison, Group, Study
from rnnlab.report.runs import STATUSES

Format = Callable[[float], str]


def num(value: float | None, digits: int = 4) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.{digits}g}"


def count(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else str(round(value))


def metric_format(groups: list[Group], metric: str) -> Format:
    """Every value of one metric with the same decimals: two significant digits of the smallest
    spread between seeds (0.6124 ± 0.0053), or 4 significant digits when nothing spreads."""
    spreads = [
        g.summaries[metric].std
        for g in groups
        if metric in g.summaries and math.isfinite(g.summaries[metric].std)
    ]
    spreads = [x for x in spreads if x > 0]
    if not spreads:
        return num
    decimals = min(8, max(0, 1 - math.floor(math.log10(min(spreads)))))
    return lambda value: "—" if not math.isfinite(value) else f"{value:.{decimals}f}"


def interval(ci: tuple[float, float], fmt: Format = num) -> str:
    return "—" if not all(map(math.isfinite, ci)) else f"[{fmt(ci[0])}, {fmt(ci[1])}]"


def p_value(p: float) -> str:
    if not math.isfinite(p):
        return "—"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def signed(value: float, fmt: Format = num) -> str:
    return "—" if not math.isfinite(value) else ("+" if value >= 0 else "") + fmt(value)


def mean_std(group: Group, metric: str, fmt: Format = num) -> str:
    summary = group.summaries.get(metric)
    if summary is None:
        return "—"
    if summary.n < 2:
        return fmt(summary.mean)
    return f"{fmt(summary.mean)} ± {fmt(summary.std)}"


# ---------------------------------------------------------------------------- verdict


def verdict(study: Study) -> str:
    """One plain paragraph: which groups the primary metric separates from the reference."""
    metric, reference = study.metric, study.reference
    prefix = f"{study.label}: on" if study.label else "On"
    if reference is None:
        return f"{prefix} {metric}, no group has a completed run."
    ref = reference.summaries[metric]
    fmt = metric_format(study.groups, metric)
    role = "the baseline" if study.reference_is_baseline else "best"
    head = (
        f"{prefix} {metric} ({study.direction}), {reference.label} is {role} "
        f"({fmt(ref.mean)}, 95% CI {interval(ref.ci, fmt)}, n={ref.n})."
    )
    others = [g for g in study.groups if g is not reference]
    if not others:
        return f"{head} It is the only group: nothing to compare it with."
    beaten, beating, not_separated, untested, unfinished = [], [], [], [], []
    for group in others:
        d = group.difference
        if not group.values.get(metric):
            unfinished.append(group.label)
            continue
        if d is None or not d.test:
            untested.append(group.label)
            continue
        text = (
            f"{group.label} (difference {signed(d.diff, fmt)}, 95% CI {interval(d.ci, fmt)}, "
            f"p{_eq(p_value(group.p_holm))})"
        )
        if not group.separated:
            not_separated.append(text)
        elif (d.diff > 0) == study.higher_is_better:
            beating.append(text)
        else:
            beaten.append(text)
    sentences = [head]
    if beaten:
        sentences.append(f"It is better than {_join(beaten, 'and')}: separated at alpha={ALPHA}.")
    if beating:
        verb = "is" if len(beating) == 1 else "are"
        sentences.append(f"{_join(beating, 'and')} {verb} better: separated at alpha={ALPHA}.")
    if not_separated:
        sentences.append(
            f"It is not separated from {_join(not_separated, 'nor from')}: the runs cannot tell "
            f"{'these' if len(not_separated) > 1 else 'the two'} apart at alpha={ALPHA}."
        )
    if unfinished:
        have = "has" if len(unfinished) == 1 else "have"
        sentences.append(f"{_join(unfinished, 'and')} {have} no completed run with {metric}.")
    if untested:
        sentences.append(
            f"{_join(untested, 'and')} cannot be tested (fewer than 2 completed runs with "
            f"{metric})."
        )
    return " ".join(sentences)


def _eq(text: str) -> str:
    return text if text.startswith("<") else f"={text}"


def _join(items: list[str], conjunction: str) -> str:
    """``a``; ``a and from b``; ``a, from b and from c``."""
    if len(items) == 1:
        return items[0]
    word = conjunction.split()[-1]
    return (
        ", ".join([items[0], *(f"{word} {i}" for i in items[1:-1])]) + f" {conjunction} {items[-1]}"
    )


def ranking_sentence(comparison: Comparison) -> str | None:
    ranking = comparison.ranking
    if ranking is None:
        return None
    order = sorted(zip(ranking.average_ranks, ranking.variants, strict=True))
    ranks = ", ".join(f"{v} {r:.2f}" for r, v in order)
    same = [c for c in ranking.cliques if len(c) > 1]
    cliques = (
        "; not separated (rank difference below CD): "
        + "; ".join("{" + ", ".join(c) + "}" for c in same)
        if same
        else "; every pair of variants is separated"
    )
    return (
        f"Average ranks over {ranking.studies} studies (1 = best): {ranks}. Friedman p="
        f"{p_value(ranking.friedman_p)}; Nemenyi critical difference "
        f"{ranking.critical_difference:.2f} at alpha={ALPHA}{cliques}."
    )


# ---------------------------------------------------------------------------- markdown


def _comparisons(comparison: Comparison) -> str:
    n = sum(1 for s in comparison.studies for g in s.groups if g.difference and g.difference.test)
    return f"{n} comparison" + ("" if n == 1 else "s")


def _with_ci(group: Group, metric: str, fmt: Format) -> str:
    summary = group.summaries.get(metric)
    if summary is None or summary.n < 2:
        return mean_std(group, metric, fmt)
    return f"{mean_std(group, metric, fmt)} {interval(summary.ci, fmt)}"


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines


def group_rows(study: Study) -> Iterator[list[str]]:
    metric = study.metric
    fmt = metric_format(study.groups, metric)
    for group in study.groups:
        s = group.summaries.get(metric)
        yield [
            group.label,
            group.counts_text(),
            mean_std(group, metric, fmt),
            interval(s.ci, fmt) if s else "—",
            interval(s.bootstrap_ci, fmt) if s else "—",
            fmt(s.iqm) if s else "—",
            count(group.parameters),
            num(group.wall_time_s, 3),
            count(group.samples_per_s),
        ]


GROUP_HEADER = [
    "group",
    "runs",
    "mean ± std",
    "95% CI (t)",
    "95% CI (bootstrap)",
    "IQM",
    "params",
    "wall s",
    "samples/s",
]


def pairwise_rows(study: Study) -> Iterator[list[str]]:
    fmt = metric_format(study.groups, study.metric)
    for group in study.groups:
        d = group.difference
        if group is study.reference or d is None:
            continue
        yield [
            group.label,
            signed(d.diff, fmt),
            interval(d.ci, fmt),
            interval(d.bootstrap_ci, fmt),
            d.test or "—",
            p_value(d.p),
            p_value(group.p_holm),
            num(group.prob_better, 3),
        ]


def pairwise_header(study: Study) -> list[str]:
    return [
        "group",
        "diff",
        "95% CI (t)",
        "95% CI (bootstrap)",
        "test",
        "p",
        "p (Holm)",
        "P(better)",
    ]


def markdown(comparison: Comparison, plot: Path | None) -> str:
    counts = comparison.counts
    lines = [
        "# Run comparison",
        "",
        "Sources: " + ", ".join(f"`{s}`" for s in comparison.sources),
        "",
        f"{len(comparison.runs)} runs: "
        + ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts.get(s))
        + ". Groups by: "
        + (", ".join(f"`{k}`" for k in comparison.variant_keys) or "nothing (one group)")
        + (
            "; studies by: " + ", ".join(f"`{k}`" for k in comparison.study_keys)
            if comparison.study_keys
            else ""
        )
        + (
            "; pooled within each group: " + ", ".join(f"`{k}`" for k in comparison.pooled_keys)
            if comparison.pooled_keys
            else ""
        )
        + ". Statistics over each group's completed runs (seeds); pairwise p-values are "
        f"Holm-corrected over the report's {_comparisons(comparison)}; P(better) is the "
        "probability of improvement (rliable: Mann-Whitney U / (n·m)). With few seeds the "
        "bootstrap intervals come out too narrow (they cannot see past the values observed): "
        "the verdict rests on the t-tests.",
        "",
    ]
    for study in comparison.studies:
        if study.label:
            lines += [f"## {study.label}", ""]
        lines += [f"**Verdict.** {verdict(study)}", ""]
        lines += [f"{study.metric} ({study.direction}):", ""]
        lines += _md_table(GROUP_HEADER, list(group_rows(study)))
        pairs = list(pairwise_rows(study))
        if pairs:
            ref = study.reference.label
            lines += ["", f"{study.metric} minus that of {ref}; P(better than {ref}):", ""]
            lines += _md_table(pairwise_header(study), pairs)
        others = [m for m in comparison.metrics if any(m in g.values for g in study.groups)]
        if others:
            lines += [
                "",
                "Every final metric: mean ± std [95% t-interval] over completed runs:",
                "",
            ]
            header = ["metric", *(g.label for g in study.groups)]
            rows = [
                [m, *(_with_ci(g, m, metric_format(study.groups, m)) for g in study.groups)]
                for m in others
            ]
            lines += _md_table(header, rows)
        lines += [""]
    if sentence := ranking_sentence(comparison):
        lines += ["## Ranks across studies", "", sentence, ""]
    failed = [r for r in comparison.runs if r.status == "failed"]
    if failed:
        lines += ["## Failed runs", ""]
        lines += [
            f"- `{r.path}`: {r.record.get('failure') or 'no reason recorded'}" for r in failed
        ]
        lines += [""]
    lines += [f"- {note}" for note in comparison.notes]
    if plot is not None:
        lines += ["", f"![comparison]({plot.name})", ""]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------- csv


def write_csv(comparison: Comparison, path: Path) -> None:
    """One row per group: counts, resources, the primary metric's statistics and its difference
    from the reference, then mean/std/CI of every final metric."""
    metrics = comparison.metrics
    header = [
        "study",
        "group",
        *(f"n_{s}" for s in STATUSES),
        "parameters",
        "wall_time_s",
        "train_samples_per_s",
        "metric",
        "direction",
        "reference",
        "diff",
        "diff_ci_low",
        "diff_ci_high",
        "diff_bootstrap_low",
        "diff_bootstrap_high",
        "test",
        "p",
        "p_holm",
        "prob_better",
    ]
    for m in metrics:
        header += [
            f"{m} mean",
            f"{m} std",
            f"{m} ci_low",
            f"{m} ci_high",
            f"{m} bootstrap_low",
            f"{m} bootstrap_high",
            f"{m} iqm",
            f"{m} n",
        ]
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        for study in comparison.studies:
            for group in study.groups:
                d = group.difference
                row: list[object] = [
                    study.label,
                    group.label,
                    *(group.counts.get(s, 0) for s in STATUSES),
                    _cell(group.parameters),
                    _cell(group.wall_time_s),
                    _cell(group.samples_per_s),
                    study.metric,
                    "max" if study.higher_is_better else "min",
                    study.reference.label if study.reference else "",
                ]
                if d is not None:
                    row += [
                        *map(_cell, (d.diff, *d.ci, *d.bootstrap_ci)),
                        d.test,
                        *map(_cell, (d.p, group.p_holm, group.prob_better)),
                    ]
                else:
                    row += [""] * 9
                for m in metrics:
                    s = group.summaries.get(m)
                    row += (
                        [*map(_cell, (s.mean, s.std, *s.ci, *s.bootstrap_ci, s.iqm)), s.n]
                        if s
                        else [""] * 7 + [0]
                    )
                writer.writerow(row)


def _cell(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else repr(float(value))


# ---------------------------------------------------------------------------- terminal


NARROW = 110  # below this terminal width the resource columns stay in comparison.md only
RESOURCES = ("params", "wall s", "samples/s")


def rich_tables(comparison: Comparison, width: int = 200) -> list[Table | str]:
    """What the terminal shows: per study, the group table, the differences, the verdict."""
    out: list[Table | str] = []
    counts = comparison.counts
    out.append(
        f"[bold]rnnlab-compare[/bold]: {len(comparison.runs)} runs ("
        + ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts.get(s))
        + "), grouped by "
        + (", ".join(comparison.variant_keys) or "nothing")
        + (f"; studies by {', '.join(comparison.study_keys)}" if comparison.study_keys else "")
        + (f"; pooled: {', '.join(comparison.pooled_keys)}" if comparison.pooled_keys else "")
    )
    for study in comparison.studies:
        title = f"{study.label + ' — ' if study.label else ''}{study.metric} ({study.direction})"
        rows = list(group_rows(study))
        keep = [
            i
            for i, name in enumerate(GROUP_HEADER)
            if _shown(name, rows, i) and (width >= NARROW or name not in RESOURCES)
        ]
        out.append(
            _rich_table(
                title,
                [TERMINAL_NAMES.get(GROUP_HEADER[i], GROUP_HEADER[i]) for i in keep],
                [[r[i] for i in keep] for r in rows],
            )
        )
        pairs = list(pairwise_rows(study))
        if pairs:
            header = pairwise_header(study)
            tests = {row[header.index("test")] for row in pairs}
            keep = [
                i
                for i, name in enumerate(header)
                if name != "p" and _shown(name, pairs, i) and (name != "test" or len(tests) > 1)
            ]
            test = f"{tests.pop()}-tests, " if len(tests) == 1 else ""
            ref = study.reference.label
            out.append(
                _rich_table(
                    f"{study.metric} minus {ref} ({test}Holm-corrected p; P(better than {ref}))",
                    [TERMINAL_NAMES.get(header[i], header[i]) for i in keep],
                    [[r[i] for i in keep] for r in pairs],
                )
            )
        out.append(verdict(study))
    if sentence := ranking_sentence(comparison):
        out.append(sentence)
    out += comparison.notes
    return out


# the terminal is narrow: short column names, and no column that only holds dashes
TERMINAL_NAMES = {"95% CI (t)": "95% CI", "95% CI (bootstrap)": "bootstrap CI", "wall s": "s/run"}


def _shown(name: str, rows: list[list[str]], column: int) -> bool:
    if name == "IQM":  # the mean itself when no group has 4 runs (nothing is trimmed)
        return any(r[column] != r[2].split(" ±")[0] for r in rows)
    return any(r[column] != "—" for r in rows)


def _rich_table(title: str, header: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for i, name in enumerate(header):
        table.add_column(name, justify="left" if i == 0 or name in ("runs", "test") else "right")
    for row in rows:
        table.add_row(*row)
    return table
