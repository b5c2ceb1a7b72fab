"""Tests for nasbench_lab.stats: against scipy, hand-computed cases, properties, simulations."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st_h
from scipy import stats as st

from nasbench_lab import NasbenchError
from nasbench_lab import stats as S


# --------------------------------------------------------------------------- time grid

def test_time_grid_log_and_linear():
    g = S.time_grid(1000.0, n=50, log=True)
    assert g.shape == (50,) and g[0] == pytest.approx(1.0) and g[-1] == 1000.0
    assert np.all(np.diff(np.log(g)) > 0)
    assert np.allclose(np.diff(np.log(g)), np.log(1000) / 49)
    g = S.time_grid(100.0, n=11, log=False)
    assert np.allclose(g, np.arange(0, 101, 10))
    g = S.time_grid(100.0, n=3, log=True, min_time=10.0)
    assert np.allclose(g, [10, math.sqrt(1000), 100])


@pytest.mark.parametrize("kw", [dict(max_time=0), dict(max_time=10, n=1),
                                dict(max_time=10, min_time=0), dict(max_time=10, min_time=20)])
def test_time_grid_rejects_bad_input(kw):
    with pytest.raises(NasbenchError):
        S.time_grid(**kw)


# ----------------------------------------------------------------------- anytime curves

def test_anytime_curves_step_function_by_hand():
    trajs = [
        ([10.0, 20.0, 20.0, 40.0], [np.nan, 50.0, 60.0, 70.0]),
        ([5.0, 30.0], [80.0, 90.0]),
        ([], []),
    ]
    grid = [0.0, 5.0, 9.99, 10.0, 19.0, 20.0, 39.0, 40.0, 100.0]
    m = S.anytime_curves(trajs, grid)
    nan = np.nan
    expected = np.array([
        [nan, nan, nan, nan, nan, 60.0, 60.0, 70.0, 70.0],  # ties at 20: last one wins
        [nan, 80.0, 80.0, 80.0, 80.0, 80.0, 90.0, 90.0, 90.0],
        [nan] * 9,
    ])
    np.testing.assert_array_equal(m, expected)


def test_anytime_curves_rejects_unsorted_or_mismatched():
    with pytest.raises(NasbenchError):
        S.anytime_curves([([2.0, 1.0], [1.0, 2.0])], [1.0])
    with pytest.raises(NasbenchError):
        S.anytime_curves([([1.0, 2.0], [1.0])], [1.0])


@settings(max_examples=50, deadline=None)
@given(st_h.lists(st_h.tuples(st_h.floats(0, 100), st_h.floats(0, 100)), min_size=1,
                  max_size=20),
       st_h.lists(st_h.floats(0, 120), min_size=1, max_size=20))
def test_anytime_curves_matches_naive_definition(pairs, grid):
    t = np.sort(np.array([p[0] for p in pairs]))
    v = np.array([p[1] for p in pairs])
    m = S.anytime_curves([(t, v)], grid)[0]
    for g, got in zip(grid, m):
        done = np.flatnonzero(t <= g)
        want = v[done[-1]] if done.size else np.nan
        np.testing.assert_equal(got, want)


def test_final_values_and_regret():
    trajs = [([1, 2], [50, 60]), ([], []), ([3], [np.nan])]
    np.testing.assert_array_equal(S.final_values(trajs), [60, np.nan, np.nan])
    np.testing.assert_array_equal(S.regret([90.0, np.nan, 94.0], 94.37),
                                  [94.37 - 90.0, np.nan, 94.37 - 94.0])


# -------------------------------------------------------------------------- curve band

def test_curve_band_mean_ci_matches_scipy_t_interval():
    rng = np.random.default_rng(0)
    m = rng.normal(70, 5, size=(30, 4))
    m[:10, 1] = np.nan  # 20 of 30 runs
    m[:20, 2] = np.nan  # 10 of 30 runs: fewer than half
    c, lo, hi = S.curve_band(m, level=0.9)
    for j in (0, 1, 3):
        col = m[:, j][~np.isnan(m[:, j])]
        want = st.t.interval(0.9, col.size - 1, loc=col.mean(), scale=st.sem(col))
        assert c[j] == pytest.approx(col.mean())
        assert (lo[j], hi[j]) == pytest.approx(want)
    assert np.isnan([c[2], lo[2], hi[2]]).all()


def test_curve_band_median_iqr_and_edge_cases():
    m = np.array([[1.0, np.nan], [2.0, np.nan], [3.0, 5.0], [10.0, np.nan]])
    c, lo, hi = S.curve_band(m, method="median_iqr")
    assert (c[0], lo[0], hi[0]) == (2.5, 1.75, 4.75)
    assert np.isnan([c[1], lo[1], hi[1]]).all()  # 1 of 4 runs
    # One run: a center but no interval; no warnings (RuntimeWarnings are errors here).
    c, lo, hi = S.curve_band(np.array([[1.0, np.nan]]))
    assert c[0] == 1.0 and np.isnan(lo[0]) and np.isnan(hi[0]) and np.isnan(c[1])
    c, lo, hi = S.curve_band(np.full((3, 2), np.nan))
    assert np.isnan(c).all()
    with pytest.raises(NasbenchError):
        S.curve_band(m, method="nope")


# --------------------------------------------------------------- bootstrap / summarize

@pytest.mark.parametrize("method,scipy_method", [("bca", "BCa"), ("percentile", "percentile")])
def test_bootstrap_ci_agrees_with_scipy(method, scipy_method):
    rng = np.random.default_rng(3)
    x = rng.gamma(2.0, 2.0, size=40)  # skewed, where BCa and percentile differ
    for stat in (np.mean, np.median):
        ours = S.bootstrap_ci(x, stat, n_boot=5000, rng=7, method=method)
        ref = st.bootstrap((x,), stat, n_resamples=5000, method=scipy_method, rng=7,
                           vectorized=True).confidence_interval
        # Same resampling scheme, so the intervals agree closely.
        assert ours == pytest.approx((ref.low, ref.high), abs=0.05)


def test_summarize_known_values_and_determinism():
    x = [1.0, 2.0, 3.0, 4.0, np.nan, 10.0]
    s = S.summarize(x, rng=0)
    assert s["mean"] == 4.0 and s["median"] == 3.0 and s["n"] == 5 and s["n_missing"] == 1
    assert s["std"] == pytest.approx(np.std([1, 2, 3, 4, 10], ddof=1))
    assert s["ci_low"] < 4.0 < s["ci_high"]
    assert S.summarize(x, rng=0) == s
    assert S.summarize(x, rng=np.random.default_rng(0)) == s


def test_summarize_degenerate_samples():
    s = S.summarize([5.0] * 8)
    assert (s["ci_low"], s["ci_high"], s["std"]) == (5.0, 5.0, 0.0)
    s = S.summarize([5.0])
    assert s["mean"] == 5.0 and np.isnan(s["ci_low"]) and np.isnan(s["std"])
    s = S.summarize([np.nan, np.nan])
    assert s["n"] == 0 and s["n_missing"] == 2 and np.isnan(s["mean"])


def test_summary_table_independent_of_other_strategies():
    a = np.arange(20.0)
    b = np.arange(20.0) ** 1.5
    t1 = S.summary_table({"a": a, "b": b}, n_boot=500)
    t2 = S.summary_table({"b": b}, n_boot=500)
    assert t1["b"] == t2["b"]


@pytest.mark.parametrize("method", ["bca", "percentile"])
def test_bootstrap_ci_coverage_on_normal_data(method):
    # 400 replications of n=30 normal draws; the 95% CI of the mean should cover the
    # true mean about 95% of the time (binomial sd ~1.1%; bootstrap CIs run slightly low
    # at this n).
    rng = np.random.default_rng(12345)
    reps, hits = 400, 0
    for _ in range(reps):
        x = rng.normal(50.0, 3.0, size=30)
        lo, hi = S.bootstrap_ci(x, n_boot=1000, rng=rng, method=method)
        hits += lo <= 50.0 <= hi
    assert 0.90 <= hits / reps <= 0.98


# ---------------------------------------------------------------------------------- A12

def test_a12_hand_cases_and_scipy():
    assert S.vargha_delaney_a12([3, 4], [1, 2]) == 1.0
    assert S.vargha_delaney_a12([1, 2], [3, 4]) == 0.0
    assert S.vargha_delaney_a12([1, 2, 3], [1, 2, 3]) == 0.5
    # pairs: (2,1)>, (2,2)=, (2,3)<, (3,1)>, (3,2)>, (3,3)= -> (3 + 0.5*2)/6
    assert S.vargha_delaney_a12([2, 3], [1, 2, 3]) == pytest.approx(4 / 6)
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 5, 17), rng.integers(0, 5, 23)
    u = st.mannwhitneyu(x, y).statistic
    assert S.vargha_delaney_a12(x, y) == pytest.approx(u / (17 * 23))
    assert np.isnan(S.vargha_delaney_a12([], [1.0]))


@settings(max_examples=100, deadline=None)
@given(st_h.lists(st_h.integers(-5, 5), min_size=1, max_size=15),
       st_h.lists(st_h.integers(-5, 5), min_size=1, max_size=15))
def test_a12_symmetry_and_naive(x, y):
    a = S.vargha_delaney_a12(x, y)
    assert a + S.vargha_delaney_a12(y, x) == pytest.approx(1.0)
    naive = np.mean([(xi > yi) + 0.5 * (xi == yi) for xi in x for yi in y])
    assert a == pytest.approx(naive)


@pytest.mark.parametrize("a12,label", [(0.5, "negligible"), (0.559, "negligible"),
                                       (0.56, "small"), (0.44, "small"), (0.64, "medium"),
                                       (0.36, "medium"), (0.709, "medium"), (0.71, "large"),
                                       (0.0, "large"), (float("nan"), "undefined")])
def test_a12_magnitude(a12, label):
    assert S.a12_magnitude(a12) == label


# --------------------------------------------------------------------------------- Holm

def test_holm_hand_computed():
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, max(0.04*1, 0.06)=0.06
    np.testing.assert_allclose(S.holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(S.holm([0.5, 0.9]), [1.0, 1.0])
    np.testing.assert_allclose(S.holm([0.02, np.nan, 0.04]), [0.04, np.nan, 0.04])
    assert S.holm([]).shape == (0,)
    with pytest.raises(NasbenchError):
        S.holm([1.5])


@settings(max_examples=200, deadline=None)
@given(st_h.lists(st_h.floats(0, 1), min_size=1, max_size=30))
def test_holm_properties(p):
    p = np.array(p)
    adj = S.holm(p)
    assert np.all(adj >= p - 1e-15) and np.all(adj <= 1.0)
    order = np.argsort(p, kind="mergesort")
    assert np.all(np.diff(adj[order]) >= -1e-15)  # monotone in the raw p-values
    assert adj.min() == pytest.approx(min(1.0, p.min() * p.size))


# ------------------------------------------------------------------------ pairwise tests

def test_pairwise_unpaired_matches_scipy_and_names_the_winner():
    rng = np.random.default_rng(5)
    samples = {"random": rng.normal(90, 1, 60), "rea": rng.normal(91, 1, 60),
               "rea2": rng.normal(91, 1, 60)}
    recs = S.pairwise_tests(samples)
    assert [(r.a, r.b) for r in recs] == [("random", "rea"), ("random", "rea2"),
                                         ("rea", "rea2")]
    raw = [st.mannwhitneyu(samples[r.a], samples[r.b], alternative="two-sided") for r in recs]
    for r, ref in zip(recs, raw):
        assert r.test == "mann-whitney-u"
        assert r.statistic == pytest.approx(ref.statistic) and r.p == pytest.approx(ref.pvalue)
    np.testing.assert_allclose([r.p_holm for r in recs], S.holm([x.pvalue for x in raw]))
    r0 = recs[0]
    assert r0.winner == "rea" and r0.a12 < 0.5
    assert r0.verdict.startswith("rea beats random (p_holm=")
    assert f"A12={1 - r0.a12:.2f}, {r0.magnitude} effect)" in r0.verdict
    assert recs[2].winner is None and recs[2].verdict.startswith("no significant difference")


def test_pairwise_lower_is_better_flips_the_winner():
    recs = S.pairwise_tests({"a": np.arange(30.0), "b": np.arange(30.0) + 40},
                            higher_is_better=False)
    assert recs[0].winner == "a" and recs[0].a12 == 0.0
    assert "a beats b" in recs[0].verdict and "A12=1.00, large effect" in recs[0].verdict


def test_pairwise_paired_matches_scipy_wilcoxon():
    rng = np.random.default_rng(2)
    base = rng.normal(90, 2, 25)
    samples = {"x": base + rng.normal(0.5, 0.3, 25), "y": base}
    (r,) = S.pairwise_tests(samples, paired=True)
    ref = st.wilcoxon(samples["x"], samples["y"])
    assert r.test == "wilcoxon-signed-rank"
    assert r.statistic == pytest.approx(ref.statistic) and r.p == pytest.approx(ref.pvalue)
    assert r.winner == "x"
    # Unpaired, the seed-to-seed spread hides the same shift.
    (u,) = S.pairwise_tests(samples, paired=False)
    assert u.p > r.p


def test_pairwise_paired_by_seed_mappings():
    a = {0: 1.0, 1: 2.0, 2: 3.0, 3: 4.0, 7: 100.0}
    b = {3: 3.0, 2: 2.0, 1: 1.0, 0: 0.0, 9: -100.0}
    (r,) = S.pairwise_tests({"a": a, "b": b}, paired=True)
    assert r.n_a == r.n_b == 4
    ref = st.wilcoxon([1, 2, 3, 4], [0, 1, 2, 3])
    assert r.p == pytest.approx(ref.pvalue)
    with pytest.raises(NasbenchError):
        S.pairwise_tests({"a": [1.0, 2.0], "b": [1.0]}, paired=True)


def test_pairwise_ties_identical_and_empty_do_not_crash():
    recs = S.pairwise_tests({"a": [93.1] * 10, "b": [93.1] * 10, "c": [np.nan, np.nan],
                             "d": [93.1] * 9 + [93.2]})
    by = {(r.a, r.b): r for r in recs}
    assert by["a", "b"].p == 1.0 and by["a", "b"].a12 == 0.5
    assert np.isnan(by["a", "c"].p) and np.isnan(by["a", "c"].p_holm)
    assert "not enough runs" in by["a", "c"].verdict
    assert 0 < by["a", "d"].p <= 1
    (r,) = S.pairwise_tests({"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 3.0]}, paired=True)
    assert r.p == 1.0 and r.winner is None


def test_mann_whitney_false_positive_rate_under_null():
    # Both samples from the same distribution: a 5% test should reject ~5% of the time.
    rng = np.random.default_rng(99)
    reps = 1000
    x = rng.normal(0, 1, size=(reps, 20))
    y = rng.normal(0, 1, size=(reps, 20))
    rejections = sum(S.pairwise_tests({"x": x[i], "y": y[i]})[0].p < 0.05 for i in range(reps))
    assert 0.025 <= rejections / reps <= 0.075


def test_holm_controls_familywise_error_under_null():
    rng = np.random.default_rng(7)
    reps, any_reject = 300, 0
    for _ in range(reps):
        recs = S.pairwise_tests({n: rng.normal(0, 1, 15) for n in "abcd"})
        any_reject += any(r.p_holm < 0.05 for r in recs)
    assert any_reject / reps <= 0.08


# ------------------------------------------------------------------ ranks, Friedman, CD

def test_average_ranks_hand_computed_with_ties():
    m = [[90, 80, 70],
         [60, 60, 50],
         [10, 20, 30]]
    np.testing.assert_allclose(S.average_ranks(m), [(1 + 1.5 + 3) / 3, (2 + 1.5 + 2) / 3,
                                                    (3 + 3 + 1) / 3])
    np.testing.assert_allclose(S.average_ranks(m, higher_is_better=False),
                               [(3 + 2.5 + 1) / 3, (2 + 2.5 + 2) / 3, (1 + 1 + 3) / 3])
    with pytest.raises(NasbenchError):
        S.average_ranks([[1.0, np.nan]])


@settings(max_examples=100, deadline=None)
@given(st_h.integers(1, 8), st_h.integers(2, 7), st_h.integers(0, 2**32 - 1))
def test_average_ranks_sum(n, k, seed):
    m = np.random.default_rng(seed).integers(0, 4, size=(n, k))  # many ties
    r = S.average_ranks(m)
    assert r.sum() == pytest.approx(k * (k + 1) / 2)
    assert np.all((r >= 1) & (r <= k))


def test_friedman_matches_scipy_and_demsar_formulas():
    rng = np.random.default_rng(4)
    m = rng.normal(size=(12, 4)) + np.array([0.0, 0.3, 0.6, 1.2])
    res = S.friedman(m)
    ref = st.friedmanchisquare(*m.T)
    assert res.statistic == pytest.approx(ref.statistic) and res.pvalue == pytest.approx(ref.pvalue)
    n, k = m.shape
    R = S.average_ranks(m)
    chi2 = 12 * n / (k * (k + 1)) * (np.sum(R ** 2) - k * (k + 1) ** 2 / 4)  # no ties
    assert res.statistic == pytest.approx(chi2)
    f = (n - 1) * chi2 / (n * (k - 1) - chi2)
    assert res.iman_davenport == pytest.approx(f)
    assert res.iman_davenport_pvalue == pytest.approx(st.f.sf(f, k - 1, (k - 1) * (n - 1)))
    assert res.avg_ranks == pytest.approx(tuple(R)) and (res.k, res.n) == (4, 12)


def test_friedman_errors_and_degenerate_cases():
    with pytest.raises(NasbenchError, match="at least 3 strategies"):
        S.friedman([[1, 2], [3, 4]])
    with pytest.raises(NasbenchError, match="at least 2 tables"):
        S.friedman([[1, 2, 3]])
    tied = S.friedman(np.ones((5, 3)))
    assert (tied.statistic, tied.pvalue) == (0.0, 1.0)
    perfect = S.friedman(np.tile([3.0, 2.0, 1.0], (5, 1)))
    assert perfect.iman_davenport == math.inf and perfect.iman_davenport_pvalue == 0.0


DEMSAR_Q05 = {2: 1.960, 3: 2.343, 4: 2.569, 5: 2.728, 6: 2.850, 7: 2.949, 8: 3.031,
              9: 3.102, 10: 3.164}
DEMSAR_Q10 = {2: 1.645, 3: 2.052, 4: 2.291, 5: 2.459, 6: 2.589, 7: 2.693, 8: 2.780,
              9: 2.855, 10: 2.920}


@pytest.mark.parametrize("k", range(2, 11))
def test_nemenyi_q_matches_demsar_table(k):
    assert S.nemenyi_q(k, 0.05) == pytest.approx(DEMSAR_Q05[k], abs=1.5e-3)
    assert S.nemenyi_q(k, 0.10) == pytest.approx(DEMSAR_Q10[k], abs=1.5e-3)


def test_nemenyi_cd_formula_and_errors():
    # Demsar (2006), section 3.2.4 example: k=4, N=14, CD = 2.569*sqrt(4*5/(6*14)) = 1.25
    assert S.nemenyi_cd(4, 14) == pytest.approx(1.25, abs=0.005)
    assert S.nemenyi_cd(5, 10) == pytest.approx(S.nemenyi_q(5) * math.sqrt(5 * 6 / 60))
    with pytest.raises(NasbenchError):
        S.nemenyi_q(1)
    with pytest.raises(NasbenchError):
        S.nemenyi_cd(3, 0)


def test_cd_groups():
    ranks = {"a": 1.0, "b": 1.5, "c": 2.2, "d": 3.6, "e": 3.9}
    assert S.cd_groups(ranks, 1.25) == [("a", "b", "c"), ("d", "e")]
    assert S.cd_groups(ranks, 1.5) == [("a", "b", "c"), ("c", "d"), ("d", "e")]
    assert S.cd_groups(ranks, 1.8) == [("a", "b", "c"), ("c", "d", "e")]
    assert S.cd_groups(ranks, 0.1) == []
    assert S.cd_groups(ranks, 10) == [("a", "b", "c", "d", "e")]


@pytest.mark.parametrize("a12,text", [(0.7098, "0.709"), (0.71, "0.71"), (0.5, "0.50"), (0.2903, "0.291"),
                                      (0.5599, "0.559"), (0.81234, "0.81"), (float("nan"), "n/a")])
def test_format_a12_never_contradicts_its_label(a12, text):
    assert S.format_a12(a12) == text
    if text != "n/a":
        assert S.a12_magnitude(float(text)) == S.a12_magnitude(a12)
