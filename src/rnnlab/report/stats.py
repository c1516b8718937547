"""Statistics for comparing groups of runs over seeds (numpy + scipy.stats only, no torch).

Each function takes plain 1-D arrays of one metric (one value per run/seed) and returns plain
floats. With few seeds: the t-interval (:func:`t_interval`) and a bootstrap interval
(:func:`bootstrap_interval`, scipy's BCa) of the mean, the interquartile mean (:func:`iqm`) and
the probability of improvement (:func:`probability_of_improvement`), as rliable (Agarwal et al.,
NeurIPS 2021) recommends; Welch's t-test or a paired t-test for a difference
(:func:`compare_pair`) with Holm's correction (:func:`holm`); average ranks over several studies
with Friedman's test and the Nemenyi critical difference (:func:`rank_variants`, Demšar 2006).

rliable (1.2) and autorank (1.3) were checked as dependencies (``pip download --no-deps``, then
their metadata): rliable pulls in ``arch``, ``seaborn`` and ``absl-py``, autorank ``statsmodels``,
``baycomp`` and ``jinja2``. What rnnlab needs of them is small: rliable's IQM and probability of
improvement are scipy's ``trim_mean`` and ``mannwhitneyu``, and the Friedman test with the Nemenyi
critical difference are Demšar's formulas on scipy's ``friedmanchisquare`` and
``studentized_range``. So rnnlab calls scipy directly and follows their definitions.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 9999
BOOTSTRAP_SEED = 0  # the same runs give the same bootstrap interval every time
NAN = float("nan")


def _array(values: Sequence[float]) -> np.ndarray:
    return np.asarray(values, dtype=float).ravel()


@dataclass(frozen=True)
class Summary:
    """One group's values of one metric: n, mean, sample std, 95% t- and bootstrap CIs, IQM."""

    n: int
    mean: float
    std: float
    ci: tuple[float, float]
    bootstrap_ci: tuple[float, float]
    iqm: float


def summarize(values: Sequence[float]) -> Summary:
    x = _array(values)
    return Summary(
        n=len(x),
        mean=float(x.mean()) if len(x) else NAN,
        std=float(x.std(ddof=1)) if len(x) > 1 else NAN,
        ci=t_interval(x),
        bootstrap_ci=bootstrap_interval(x),
        iqm=iqm(x),
    )


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Student-t confidence interval of the mean: mean ± t_{n-1} * s / sqrt(n) (nan if n < 2)."""
    x = _array(values)
    if len(x) < 2:
        return (NAN, NAN)
    sem = x.std(ddof=1) / math.sqrt(len(x))
    if sem == 0:
        return (float(x.mean()), float(x.mean()))
    low, high = stats.t.interval(confidence, df=len(x) - 1, loc=x.mean(), scale=sem)
    return (float(low), float(high))


def bootstrap_interval(
    values: Sequence[float], confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Bootstrap CI of the mean (scipy's BCa; percentile if BCa is undefined); nan if n < 3.

    With two values every resample mean is one of three numbers: no interval worth printing.
    """
    x = _array(values)
    if len(x) < 3:
        return (NAN, NAN)
    if np.all(x == x[0]):
        return (float(x[0]), float(x[0]))
    return _bootstrap((x,), np.mean, paired=False, confidence=confidence)


def _bootstrap(data, statistic, paired: bool, confidence: float) -> tuple[float, float]:
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DegenerateDataWarning: handled by the fallback
            result = stats.bootstrap(
                data,
                statistic,
                paired=paired,
                confidence_level=confidence,
                n_resamples=BOOTSTRAP_RESAMPLES,
                method=method,
                rng=np.random.default_rng(BOOTSTRAP_SEED),
            )
        low, high = result.confidence_interval
        if np.isfinite(low) and np.isfinite(high):
            return (float(low), float(high))
    return (NAN, NAN)


def iqm(values: Sequence[float]) -> float:
    """Interquartile mean: the mean of the middle 50% (scipy's 25% trimmed mean, as rliable)."""
    x = _array(values)
    return float(stats.trim_mean(x, proportiontocut=0.25)) if len(x) else NAN


def probability_of_improvement(
    x: Sequence[float], y: Sequence[float], higher_is_better: bool = True
) -> float:
    """P(X better than Y) for one run of each drawn at random, ties counting one half.

    rliable's definition: the Mann-Whitney U statistic of X against Y divided by n_x * n_y.
    """
    a, b = _array(x), _array(y)
    if not len(a) or not len(b):
        return NAN
    if not higher_is_better:
        a, b = -a, -b
    if np.array_equal(np.sort(a), np.sort(b)):
        return 0.5
    u = stats.mannwhitneyu(a, b, alternative="greater").statistic
    return float(u / (len(a) * len(b)))


@dataclass(frozen=True)
class Difference:
    """mean(x) - mean(y) with its 95% CI and p-value; ``test`` names the test used."""

    test: str  # "Welch", "paired t", or "" when there are too few runs
    diff: float
    ci: tuple[float, float]
    bootstrap_ci: tuple[float, float]
    p: float


def compare_pair(
    x: Sequence[float], y: Sequence[float], paired: bool = False, confidence: float = CONFIDENCE
) -> Difference:
    """Difference of means of x and y: Welch's t-test (or the paired t-test when ``paired``:
    x[i] and y[i] share a seed), its t-interval, and a bootstrap interval of the difference."""
    a, b = _array(x), _array(y)
    diff = float(a.mean() - b.mean()) if len(a) and len(b) else NAN
    if paired and len(a) == len(b) and len(a) >= 2:
        delta = a - b
        if np.all(delta == delta[0]):  # a constant difference: no spread, scipy returns nan
            p = 1.0 if delta[0] == 0 else 0.0
            return Difference("paired t", diff, (diff, diff), (diff, diff), p)
        result = stats.ttest_rel(a, b)
        boot = bootstrap_interval(delta, confidence)
        test = "paired t"
    elif len(a) >= 2 and len(b) >= 2:
        if a.std() == 0 and b.std() == 0:
            p = 1.0 if diff == 0 else 0.0
            return Difference("Welch", diff, (diff, diff), (diff, diff), p)
        result = stats.ttest_ind(a, b, equal_var=False)
        boot = (
            _bootstrap((a, b), _mean_difference, paired=False, confidence=confidence)
            if len(a) >= 3 and len(b) >= 3
            else (NAN, NAN)
        )
        test = "Welch"
    else:
        return Difference("", diff, (NAN, NAN), (NAN, NAN), NAN)
    ci = result.confidence_interval(confidence)
    return Difference(test, diff, (float(ci.low), float(ci.high)), boot, float(result.pvalue))


def _mean_difference(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(a, axis=axis) - np.mean(b, axis=axis)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (nan entries are left out of the family and kept nan).

    Sorted ascending p_(1) <= ... <= p_(m): adjusted p_(i) = max over j <= i of
    min(1, (m - j + 1) * p_(j)).
    """
    p = _array(p_values)
    adjusted = np.full(len(p), NAN)
    valid = np.flatnonzero(np.isfinite(p))
    m = len(valid)
    running = 0.0
    for rank, index in enumerate(valid[np.argsort(p[valid], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return [float(v) for v in adjusted]


@dataclass(frozen=True)
class Ranking:
    """Average ranks of k variants over N studies (rank 1 = best), Friedman's test, and the
    Nemenyi critical difference at alpha = 0.05 (Demšar 2006)."""

    variants: list[str]
    average_ranks: list[float]
    studies: int
    friedman_p: float
    critical_difference: float
    cliques: list[list[str]]  # maximal sets of variants whose ranks differ by less than CD


def rank_variants(
    scores: Sequence[Sequence[float]], variants: Sequence[str], higher_is_better: Sequence[bool]
) -> Ranking:
    """``scores[i][j]``: the score of variant j in study i (its mean over seeds).

    Ranks within each study with ties averaged (scipy's ``rankdata``), 1 = best; CD =
    q_alpha * sqrt(k (k + 1) / (6 N)) with q_alpha the studentized range quantile / sqrt(2).
    """
    table = np.asarray(scores, dtype=float)  # (N studies, k variants)
    n, k = table.shape
    signs = np.where(np.asarray(higher_is_better), -1.0, 1.0)[:, None]  # rank 1 = best
    ranks = stats.rankdata(signs * table, axis=1)
    average = ranks.mean(axis=0)
    friedman = stats.friedmanchisquare(*table.T).pvalue if k >= 3 and n >= 2 else NAN
    q_alpha = stats.studentized_range.ppf(1 - 0.05, k, np.inf) / math.sqrt(2)
    cd = float(q_alpha * math.sqrt(k * (k + 1) / (6 * n)))
    return Ranking(
        variants=list(variants),
        average_ranks=[float(r) for r in average],
        studies=n,
        friedman_p=float(friedman),
        critical_difference=cd,
        cliques=_cliques(list(variants), average, cd),
    )


def _cliques(variants: list[str], ranks: np.ndarray, cd: float) -> list[list[str]]:
    order = np.argsort(ranks, kind="stable")
    sorted_ranks = ranks[order]
    cliques: list[list[str]] = []
    last_end = -1
    for i in range(len(order)):
        end = i
        while end + 1 < len(order) and sorted_ranks[end + 1] - sorted_ranks[i] < cd:
            end += 1
        if end > i and end > last_end:
            cliques.append([variants[j] for j in order[i : end + 1]])
            last_end = end
    return cliques
