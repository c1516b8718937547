"""rnnlab.report.stats: every figure against a value worked out independently in the test.

The references are computed by hand on small arrays (arithmetic written out below), Student's t
distribution by numerical integration of its density (not scipy.stats), the bootstrap by a
resampling loop of our own, and Demšar's q_alpha from his 2006 table.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from rnnlab.report import stats

# ------------------------------------------------------------------ an independent t distribution


def t_pdf(x: float, df: float) -> float:
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_c) * (1 + x * x / df) ** (-(df + 1) / 2)


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) by Simpson's rule on [0, |t|] (the density is symmetric)."""
    n = 4000
    h = abs(t) / n
    total = t_pdf(0, df) + t_pdf(abs(t), df)
    total += sum((4 if i % 2 else 2) * t_pdf(i * h, df) for i in range(1, n))
    half = total * h / 3
    return 0.5 + half if t >= 0 else 0.5 - half


def t_ppf(q: float, df: float) -> float:
    low, high = 0.0, 100.0
    for _ in range(80):
        mid = (low + high) / 2
        low, high = (mid, high) if t_cdf(mid, df) < q else (low, mid)
    return (low + high) / 2


def test_reference_t_distribution_matches_the_printed_table():
    # t_{0.975} from any statistics textbook table: df=2 -> 4.303, df=3 -> 3.182, df=10 -> 2.228
    assert t_ppf(0.975, 2) == pytest.approx(4.302653, abs=1e-4)
    assert t_ppf(0.975, 3) == pytest.approx(3.182446, abs=1e-4)
    assert t_ppf(0.975, 10) == pytest.approx(2.228139, abs=1e-4)


# ------------------------------------------------------------------ one group


def test_t_interval_by_hand():
    # [1, 2, 3, 4]: mean 2.5, s^2 = (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3, sem = sqrt(5/3 / 4)
    sem = math.sqrt(5 / 3 / 4)  # 0.645497
    half = 3.182446305 * sem  # t_{0.975, 3} from the table
    low, high = stats.t_interval([1, 2, 3, 4])
    assert low == pytest.approx(2.5 - half, abs=1e-6)
    assert high == pytest.approx(2.5 + half, abs=1e-6)
    assert (low, high) == pytest.approx((0.445740, 4.554260), abs=1e-5)


def test_t_interval_needs_two_values_and_is_a_point_without_spread():
    assert all(math.isnan(v) for v in stats.t_interval([3.0]))
    assert stats.t_interval([2.0, 2.0, 2.0]) == (2.0, 2.0)


def test_summary_mean_sample_std_and_count():
    summary = stats.summarize([0.5, 0.6, 0.7])
    assert summary.n == 3
    assert summary.mean == pytest.approx(0.6)
    assert summary.std == pytest.approx(0.1)  # sqrt((0.01 + 0 + 0.01) / 2)
    half = 4.302653 * 0.1 / math.sqrt(3)  # t_{0.975, 2}
    assert summary.ci == pytest.approx((0.6 - half, 0.6 + half), abs=1e-5)


def test_interquartile_mean_trims_a_quarter_each_side():
    # sorted: 1 2 | 3 4 5 6 | 7 100 -> mean of the middle four = 4.5
    assert stats.iqm([7, 1, 100, 3, 2, 5, 4, 6]) == pytest.approx(4.5)
    # 3 runs: int(0.25 * 3) = 0 trimmed, the plain mean (as rliable on 3 seeds)
    assert stats.iqm([1, 2, 9]) == pytest.approx(4.0)
    # 4 runs: one trimmed each side -> mean of 2 and 3
    assert stats.iqm([1, 2, 3, 40]) == pytest.approx(2.5)


def _bca_by_hand(x: np.ndarray, resamples: int = 40000, seed: int = 123) -> tuple[float, float]:
    """Efron's BCa interval of the mean, written out: bias z0 from the bootstrap distribution,
    acceleration from the jackknife."""
    rng = np.random.default_rng(seed)
    n = len(x)
    means = x[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    normal = NormalDist()
    z0 = normal.inv_cdf(np.mean(means < x.mean()))
    jack = np.array([np.delete(x, i).mean() for i in range(n)])
    d = jack.mean() - jack
    a = (d**3).sum() / (6 * ((d**2).sum()) ** 1.5)
    bounds = []
    for alpha in (0.025, 0.975):
        z = normal.inv_cdf(alpha)
        bounds.append(normal.cdf(z0 + (z0 + z) / (1 - a * (z0 + z))))
    low, high = np.quantile(means, bounds)
    return float(low), float(high)


def test_bootstrap_interval_matches_a_hand_written_bca():
    x = np.array([0.61, 0.64, 0.58, 0.70, 0.66, 0.59, 0.72, 0.63])
    low, high = stats.bootstrap_interval(x)
    ref_low, ref_high = _bca_by_hand(x)
    width = ref_high - ref_low
    assert low == pytest.approx(ref_low, abs=0.05 * width)
    assert high == pytest.approx(ref_high, abs=0.05 * width)
    assert low < x.mean() < high
    assert stats.bootstrap_interval(x) == (low, high)  # seeded: the same report every time


def test_bootstrap_interval_needs_three_values():
    assert all(math.isnan(v) for v in stats.bootstrap_interval([1.0, 2.0]))
    assert stats.bootstrap_interval([0.5, 0.5, 0.5]) == (0.5, 0.5)


# ------------------------------------------------------------------ two groups


def test_probability_of_improvement_counts_pairs_and_half_ties():
    x, y = [1, 2, 3], [2, 2, 0]
    # higher is better: x=1 beats 0 (1); x=2 ties 2, 2 (0.5 + 0.5) and beats 0 (1); x=3 beats all 3
    assert stats.probability_of_improvement(x, y) == pytest.approx(6 / 9)
    # lower is better: x=1 beats 2, 2 (2); x=2 ties twice (1); x=3 beats nothing
    assert stats.probability_of_improvement(x, y, higher_is_better=False) == pytest.approx(3 / 9)
    assert stats.probability_of_improvement([1, 2], [2, 1]) == 0.5
    assert stats.probability_of_improvement([5, 6], [1, 2]) == 1.0


def test_welch_t_test_by_hand():
    x, y = [1, 2, 3, 4], [2, 4, 6, 8, 10]
    # means 2.5 and 6; variances 5/3 and 10; se^2 = 5/3/4 + 10/5 = 2.416667
    vx, vy = 5 / 3 / 4, 10 / 5
    se = math.sqrt(vx + vy)
    t = (2.5 - 6) / se  # -2.251436
    df = (vx + vy) ** 2 / (vx**2 / 3 + vy**2 / 4)  # Welch-Satterthwaite: 5.520789
    assert df == pytest.approx(5.520789, abs=1e-5)
    p = 2 * (1 - t_cdf(abs(t), df))
    half = t_ppf(0.975, df) * se
    result = stats.compare_pair(x, y)
    assert result.test == "Welch"
    assert result.diff == pytest.approx(-3.5)
    assert result.p == pytest.approx(p, abs=1e-5)
    assert result.ci == pytest.approx((-3.5 - half, -3.5 + half), abs=1e-4)


def test_paired_t_test_by_hand():
    x, y = [1, 2, 3, 4], [1.5, 2.1, 3.9, 4.2]
    # d = [-0.5, -0.1, -0.9, -0.2]: mean -0.425, s_d^2 = 0.3875 / 3
    sd = math.sqrt(0.3875 / 3)
    se = sd / 2
    t = -0.425 / se  # -2.365063
    p = 2 * (1 - t_cdf(abs(t), 3))
    result = stats.compare_pair(x, y, paired=True)
    assert result.test == "paired t"
    assert result.diff == pytest.approx(-0.425)
    assert result.p == pytest.approx(p, abs=1e-5)
    half = 3.182446305 * se
    assert result.ci == pytest.approx((-0.425 - half, -0.425 + half), abs=1e-5)


def test_paired_test_with_two_seeds_uses_the_closed_form_cdf():
    # df = 2: P(T <= t) = 1/2 + t / (2 sqrt(2 + t^2)), so p = 1 - t / sqrt(2 + t^2)
    x, y = [0.8, 0.85, 0.9], [0.5, 0.6, 0.7]
    t = 0.25 / (0.05 / math.sqrt(3))  # d = [0.3, 0.25, 0.2]: mean 0.25, s_d 0.05
    result = stats.compare_pair(x, y, paired=True)
    assert result.p == pytest.approx(1 - t / math.sqrt(2 + t * t), abs=1e-9)


def test_difference_bootstrap_is_close_to_a_hand_percentile_bootstrap():
    x = np.array([0.80, 0.84, 0.79, 0.86, 0.82])
    y = np.array([0.70, 0.75, 0.72, 0.69, 0.74])
    rng = np.random.default_rng(7)
    diffs = [rng.choice(x, len(x)).mean() - rng.choice(y, len(y)).mean() for _ in range(20000)]
    ref_low, ref_high = np.quantile(diffs, [0.025, 0.975])
    low, high = stats.compare_pair(x, y).bootstrap_ci
    width = ref_high - ref_low
    # BCa shifts a percentile interval a little on 5 values: within a fifth of its width
    assert low == pytest.approx(ref_low, abs=0.2 * width)
    assert high == pytest.approx(ref_high, abs=0.2 * width)


def test_too_few_runs_give_no_test():
    result = stats.compare_pair([0.5], [0.6, 0.7])
    assert result.test == "" and math.isnan(result.p)
    assert result.diff == pytest.approx(-0.15)


def test_holm_by_hand():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> max(0.06, 0.04)
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    adjusted = stats.holm([0.2, float("nan"), 0.6])  # m = 2: 0.4, 0.6
    assert adjusted[0] == pytest.approx(0.4) and adjusted[2] == pytest.approx(0.6)
    assert math.isnan(adjusted[1])
    assert stats.holm([0.5, 0.6]) == [1.0, 1.0]
    assert stats.holm([]) == []


# ------------------------------------------------------------------ several studies


def test_average_ranks_friedman_and_critical_difference_by_hand():
    scores = [[0.9, 0.8, 0.7], [0.85, 0.9, 0.6], [0.7, 0.6, 0.5]]  # 3 studies x 3 variants
    ranking = stats.rank_variants(scores, ["a", "b", "c"], [True, True, True])
    # ranks per study: [1 2 3], [2 1 3], [1 2 3] -> averages 4/3, 5/3, 3
    assert ranking.average_ranks == pytest.approx([4 / 3, 5 / 3, 3])
    # Friedman: 12N/(k(k+1)) * sum(R^2) - 3N(k+1) = 3 * 13.5556 - 36 = 4.6667; chi2 with 2 df
    chi2 = 12 * 3 / (3 * 4) * sum(r * r for r in (4 / 3, 5 / 3, 3)) - 3 * 3 * 4
    assert ranking.friedman_p == pytest.approx(math.exp(-chi2 / 2), rel=1e-6)
    # Demšar (2006), table 5(a): q_0.05 = 2.343 for k = 3; CD = q sqrt(k(k+1)/(6N))
    assert ranking.critical_difference == pytest.approx(2.343 * math.sqrt(12 / 18), abs=1e-3)
    assert ranking.cliques == [["a", "b", "c"]]  # 3 - 4/3 < CD: nothing separated


def test_ranks_for_lower_is_better_studies_and_ties():
    ranking = stats.rank_variants(
        [[0.5, 0.5, 0.1], [1.0, 2.0, 3.0]], ["a", "b", "c"], [True, False]
    )
    # study 1 (higher better): a, b tie for 1-2 -> 1.5 each, c 3; study 2 (lower better): 1 2 3
    assert ranking.average_ranks == pytest.approx([1.25, 1.75, 3.0])


def test_critical_difference_cliques_with_many_studies():
    scores = [[3.0, 2.0, 1.0]] * 10  # a always best, c always worst
    ranking = stats.rank_variants(scores, ["a", "b", "c"], [True] * 10)
    cd = 2.343 * math.sqrt(12 / 60)  # 1.048
    assert ranking.critical_difference == pytest.approx(cd, abs=1e-3)
    # |1 - 2| < CD, |2 - 3| < CD, |1 - 3| > CD
    assert ranking.cliques == [["a", "b"], ["b", "c"]]
    # k = 4 and 5: q_0.05 = 2.569 and 2.728 in Demšar's table
    four = stats.rank_variants([[4.0, 3.0, 2.0, 1.0]] * 6, list("abcd"), [True] * 6)
    assert four.critical_difference == pytest.approx(2.569 * math.sqrt(20 / 36), abs=1e-3)
    five = stats.rank_variants([[5.0, 4.0, 3.0, 2.0, 1.0]] * 6, list("abcde"), [True] * 6)
    assert five.critical_difference == pytest.approx(2.728 * math.sqrt(30 / 36), abs=1e-3)
