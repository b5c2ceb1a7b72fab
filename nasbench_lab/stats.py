"""Statistics for comparing search strategies: anytime curves, intervals, tests, ranks.

Everything here is a pure function of arrays (no files, no global random state), so a
report can be recomputed exactly from stored results. The pieces, in the order a
comparison uses them:

- `time_grid`, `anytime_curves`, `regret`, `curve_band`: incumbent accuracy (or regret)
  of many runs on one common simulated-time grid, with a confidence band per grid point.
- `summarize`, `bootstrap_ci`, `summary_table`, `summary_tables`: the final-performance
  table (mean, std, median and a seeded bootstrap confidence interval; in bootstrap.py).
- `vargha_delaney_a12`, `a12_magnitude`, `holm`, `pairwise_tests`: pairwise two-sided
  Mann-Whitney U tests (Wilcoxon signed-rank when runs are paired by seed), Holm-adjusted
  p-values and the A12 effect size, with a one-line verdict per pair.
- `average_ranks`, `friedman`, `nemenyi_q`, `nemenyi_cd`, `cd_groups`: across several
  tables (datasets), Demsar's (2006) Friedman test and Nemenyi critical difference.

Conventions: accuracies are in percent; "higher is better" unless a function is told
otherwise (pass `higher_is_better=False` for regret or error). NaN means "no value"
(for example the incumbent before the first valid observation) and is never silently
treated as a number.
"""
from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import asdict, dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy import stats as _st

from nasbench_lab import NasbenchError
from nasbench_lab.bootstrap import _as_rng, bootstrap_ci, summarize, summary_table, summary_tables  # noqa: F401

__all__ = [
    "time_grid", "anytime_curves", "regret", "curve_band", "final_values",
    "bootstrap_ci", "summarize", "summary_table", "summary_tables",
    "vargha_delaney_a12", "a12_magnitude", "format_a12", "holm", "PairwiseResult", "pairwise_tests",
    "average_ranks", "FriedmanResult", "friedman", "nemenyi_q", "nemenyi_cd", "cd_groups",
]


# ---------------------------------------------------------------------------------------
# Anytime curves
# ---------------------------------------------------------------------------------------

def time_grid(max_time: float, n: int = 200, log: bool = True,
              min_time: float | None = None) -> np.ndarray:
    """A grid of `n` simulated-time points ending at `max_time` (seconds).

    With `log=True` the points are geometrically spaced from `min_time` (default
    `max_time / 1000`); otherwise linearly spaced from `min_time` (default 0). Use a
    log grid for time budgets: most of the action happens early.
    """
    max_time = float(max_time)
    if not np.isfinite(max_time) or max_time <= 0:
        raise NasbenchError(f"time_grid: max_time must be a positive number, got {max_time}")
    if n < 2:
        raise NasbenchError(f"time_grid: need at least 2 points, got n={n}")
    if log:
        lo = max_time / 1000.0 if min_time is None else float(min_time)
        if not lo > 0:
            raise NasbenchError("time_grid: a log grid needs min_time > 0")
        if lo >= max_time:
            raise NasbenchError("time_grid: min_time must be below max_time")
        grid = np.geomspace(lo, max_time, n)
    else:
        lo = 0.0 if min_time is None else float(min_time)
        if lo >= max_time:
            raise NasbenchError("time_grid: min_time must be below max_time")
        grid = np.linspace(lo, max_time, n)
    grid[-1] = max_time  # exact end point despite rounding in geomspace
    return grid


def anytime_curves(trajectories: Sequence[tuple[Sequence[float], Sequence[float]]],
                   grid: Sequence[float]) -> np.ndarray:
    """Step-function values of many runs on a common time grid: a (runs x grid) matrix.

    Each trajectory is `(time, values)`: the simulated clock after each query
    (non-decreasing) and the value after that query (e.g. the incumbent's validation or
    test accuracy; NaN allowed). The value at grid point t is the value of the last query
    finished at or before t; NaN before a run's first query. After a run's last query its
    final value is carried forward (the run ended with that incumbent).
    """
    grid = np.asarray(grid, dtype=float)
    if grid.ndim != 1:
        raise NasbenchError("anytime_curves: grid must be one-dimensional")
    out = np.full((len(trajectories), grid.size), np.nan)
    for i, (t, v) in enumerate(trajectories):
        t = np.asarray(t, dtype=float)
        v = np.asarray(v, dtype=float)
        if t.shape != v.shape or t.ndim != 1:
            raise NasbenchError(
                f"anytime_curves: run {i} has time shape {t.shape} but values shape {v.shape}")
        if t.size == 0:
            continue
        if np.any(np.isnan(t)) or np.any(np.diff(t) < 0):
            raise NasbenchError(f"anytime_curves: run {i} has times that are not non-decreasing")
        idx = np.searchsorted(t, grid, side="right") - 1
        ok = idx >= 0
        out[i, ok] = v[idx[ok]]
    return out


def regret(values, best_possible: float) -> np.ndarray:
    """Regret = best_possible - value (same units as the values; NaN stays NaN).

    `best_possible` is the best value in the table for the metric (e.g. the best mean
    test accuracy of any architecture), so regret is >= 0 for values from that table.
    """
    return float(best_possible) - np.asarray(values, dtype=float)


def final_values(trajectories: Sequence[tuple[Sequence[float], Sequence[float]]]
                 ) -> np.ndarray:
    """The last value of each run (NaN for an empty run)."""
    out = np.full(len(trajectories), np.nan)
    for i, (_, v) in enumerate(trajectories):
        v = np.asarray(v, dtype=float)
        if v.size:
            out[i] = v[-1]
    return out


def curve_band(matrix, level: float = 0.95, method: str = "mean_ci",
               min_fraction: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Center line and band per grid point of a (runs x grid) matrix, ignoring NaNs.

    method="mean_ci": mean and a Student-t confidence interval of the mean at `level`
    (lo = hi = NaN where only one run has a value).
    method="median_iqr": median and the 25th/75th percentiles (`level` is not used).
    A grid point where fewer than `min_fraction` of the runs have a value is NaN in all
    three outputs (the curve should not be drawn from a minority of runs).
    """
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2:
        raise NasbenchError("curve_band: expected a (runs x grid) matrix")
    if not 0 < level < 1:
        raise NasbenchError(f"curve_band: level must be in (0, 1), got {level}")
    n_runs, n_grid = m.shape
    center = np.full(n_grid, np.nan)
    lo = np.full(n_grid, np.nan)
    hi = np.full(n_grid, np.nan)
    if n_runs == 0:
        return center, lo, hi
    valid = ~np.isnan(m)
    count = valid.sum(axis=0)
    enough = (count > 0) & (count >= min_fraction * n_runs)
    if not enough.any():
        return center, lo, hi
    sub = m[:, enough]  # (column-major: the sums over runs below are pairwise)
    cnt = count[enough]
    if method == "mean_ci":
        gone = np.isnan(sub)
        filled = sub.copy(order="K")  # one mask and two buffers, in sub's layout
        filled[gone] = 0.0
        mean = filled.sum(axis=0) / cnt
        dev = np.subtract(filled, mean, out=filled)
        dev[gone] = 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            var = np.square(dev, out=dev).sum(axis=0) / (cnt - 1)
            half = np.where(cnt > 1,
                            _st.t.ppf(0.5 + level / 2, np.maximum(cnt - 1, 1))
                            * np.sqrt(var / cnt), np.nan)
        center[enough] = mean
        lo[enough] = mean - half
        hi[enough] = mean + half
    elif method == "median_iqr":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            q = np.nanpercentile(sub, [50, 25, 75], axis=0)
        center[enough], lo[enough], hi[enough] = q
    else:
        raise NasbenchError(f"curve_band: unknown method {method!r} "
                            "(use 'mean_ci' or 'median_iqr')")
    return center, lo, hi


# ---------------------------------------------------------------------------------------
# Pairwise tests
# ---------------------------------------------------------------------------------------

def vargha_delaney_a12(x, y) -> float:
    """Vargha-Delaney A12: P(X > Y) + 0.5 P(X = Y) for random draws from x and y.

    0.5 means no effect; A12(x, y) + A12(y, x) = 1. NaNs are dropped; NaN if either
    sample is empty. Equals the Mann-Whitney U statistic of x divided by len(x)*len(y).
    """
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    x = x[~np.isnan(x)]
    y = y[~np.isnan(y)]
    m, n = x.size, y.size
    if m == 0 or n == 0:
        return math.nan
    ranks = _st.rankdata(np.concatenate([x, y]))
    r1 = ranks[:m].sum()
    return float((r1 - m * (m + 1) / 2.0) / (m * n))


def a12_magnitude(a12: float) -> str:
    """Vargha & Delaney (2000) label for an A12 value, symmetric around 0.5:
    'negligible' (< 0.56), 'small' (>= 0.56), 'medium' (>= 0.64), 'large' (>= 0.71)."""
    if a12 is None or math.isnan(a12):
        return "undefined"
    d = max(a12, 1.0 - a12)
    d = round(d, 12)  # 1 - 0.36 must count as 0.64
    if d >= 0.71:
        return "large"
    if d >= 0.64:
        return "medium"
    if d >= 0.56:
        return "small"
    return "negligible"


def format_a12(a12: float) -> str:
    """A12 with 2 decimals, or 3 where 2 would put it past a magnitude threshold its label is
    not past (0.7098 is 'medium': '0.709', not '0.71'), so the number and the label agree."""
    if a12 is None or math.isnan(a12):
        return "n/a"
    label = a12_magnitude(a12)
    for nd in (2, 3):
        text = f"{a12:.{nd}f}"
        if a12_magnitude(float(text)) == label:
            return text
    step = 1000.0  # truncate toward 0.5 at 3 decimals: stays inside the label's band
    return f"{(math.floor(a12 * step) if a12 > 0.5 else math.ceil(a12 * step)) / step:.3f}"


def holm(pvalues) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (same order as the input).

    The adjusted values are >= the raw ones, capped at 1, and monotone in the raw
    p-values. NaN entries (tests that could not be run) stay NaN and do not count
    towards the number of tests.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    flat = p.ravel()
    ok = np.flatnonzero(~np.isnan(flat))
    m = ok.size
    if m == 0:
        return out
    if np.any((flat[ok] < 0) | (flat[ok] > 1)):
        raise NasbenchError("holm: p-values must lie in [0, 1]")
    order = ok[np.argsort(flat[ok], kind="mergesort")]
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * flat[order]))
    res = out.ravel()
    res[order] = adj
    return res.reshape(p.shape)


@dataclass(frozen=True)
class PairwiseResult:
    """One pairwise comparison. `a12` is A12(a, b) = P(a's value > b's value) + ties/2."""

    a: str
    b: str
    test: str            # "mann-whitney-u" or "wilcoxon-signed-rank"
    statistic: float
    p: float
    p_holm: float
    a12: float
    magnitude: str       # negligible / small / medium / large (of A12)
    n_a: int
    n_b: int
    winner: str | None   # the significantly better one, or None
    verdict: str

    def to_dict(self) -> dict:
        return asdict(self)


def _paired_arrays(xa, xb, name_a: str, name_b: str) -> tuple[np.ndarray, np.ndarray]:
    """Align two samples for a paired test: mappings seed -> value are joined on the
    seeds they share; sequences must have equal lengths (position = seed). Pairs with a
    NaN on either side are dropped."""
    if isinstance(xa, Mapping) and isinstance(xb, Mapping):
        seeds = sorted(set(xa) & set(xb))
        a = np.array([xa[s] for s in seeds], dtype=float)
        b = np.array([xb[s] for s in seeds], dtype=float)
    elif isinstance(xa, Mapping) or isinstance(xb, Mapping):
        raise NasbenchError("pairwise_tests: give all samples as seed->value mappings or "
                            "all as sequences")
    else:
        a = np.asarray(xa, dtype=float).ravel()
        b = np.asarray(xb, dtype=float).ravel()
        if a.size != b.size:
            raise NasbenchError(
                f"pairwise_tests: paired samples {name_a!r} and {name_b!r} have different "
                f"lengths ({a.size} vs {b.size}); pass seed->value mappings to pair by seed")
    ok = ~(np.isnan(a) | np.isnan(b))
    return a[ok], b[ok]


def _values(x) -> np.ndarray:
    v = np.asarray(list(x.values()) if isinstance(x, Mapping) else x, dtype=float).ravel()
    return v[~np.isnan(v)]


def _mann_whitney(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    if a.size == 0 or b.size == 0:
        return math.nan, math.nan
    if np.all(np.concatenate([a, b]) == a[0]):  # every value tied: no evidence at all
        return a.size * b.size / 2.0, 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = _st.mannwhitneyu(a, b, alternative="two-sided")
    return float(r.statistic), float(r.pvalue)


def _wilcoxon(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Statistic, p-value and the direction (signed-rank sum: > 0 when a tends higher)."""
    d = a - b
    nz = d[d != 0]
    if d.size == 0:
        return math.nan, math.nan, 0.0
    if nz.size == 0:  # identical on every seed
        return 0.0, 1.0, 0.0
    r = _st.rankdata(np.abs(nz))
    direction = float(np.sum(np.sign(nz) * r))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = _st.wilcoxon(a, b, zero_method="wilcox", alternative="two-sided")
    p = float(res.pvalue)
    if math.isnan(p):
        p = 1.0
    return float(res.statistic), p, direction


def pairwise_tests(samples: Mapping[str, Sequence[float] | Mapping[int, float]],
                   paired: bool = False, alpha: float = 0.05,
                   higher_is_better: bool = True) -> list[PairwiseResult]:
    """Two-sided tests between every pair of samples, Holm-corrected over all pairs.

    Unpaired: Mann-Whitney U (scipy.stats.mannwhitneyu). Paired (runs paired by seed):
    Wilcoxon signed-rank on the per-seed differences (zero differences dropped); give
    samples as seed->value mappings (joined on common seeds) or equal-length sequences.
    The effect size is always the (unpaired) Vargha-Delaney A12. NaNs are dropped.
    A pair with identical samples gets p = 1; a pair with an empty side gets NaN p and is
    left out of the Holm correction.

    The verdict names the winner when p_holm < alpha, e.g.
    "rea beats random (p_holm=0.003, A12=0.64, medium effect)", where A12 there is the
    probability that the winner does better (so >= 0.5; for `higher_is_better=False`
    "better" means lower), otherwise "no significant difference (p_holm=0.41, ...)".
    """
    names = list(samples)
    if len(names) != len(set(names)):
        raise NasbenchError("pairwise_tests: sample names must be unique")
    rows = []
    for na, nb in itertools.combinations(names, 2):
        if paired:
            a, b = _paired_arrays(samples[na], samples[nb], na, nb)
            stat, p, direction = _wilcoxon(a, b)
            test = "wilcoxon-signed-rank"
        else:
            a, b = _values(samples[na]), _values(samples[nb])
            stat, p = _mann_whitney(a, b)
            test = "mann-whitney-u"
            direction = math.nan
        a12 = vargha_delaney_a12(a, b)
        if not paired:
            direction = 0.0 if math.isnan(a12) else a12 - 0.5
        rows.append((na, nb, test, stat, p, a12, a.size, b.size, direction))
    p_adj = holm([r[4] for r in rows]) if rows else np.array([])
    out = []
    for (na, nb, test, stat, p, a12, n_a, n_b, direction), ph in zip(rows, p_adj):
        mag = a12_magnitude(a12)
        winner = None
        if not math.isnan(ph) and ph < alpha and direction != 0:
            a_higher = direction > 0
            winner = na if a_higher == higher_is_better else nb
        if math.isnan(p):
            verdict = f"not enough runs to compare {na} and {nb}"
        elif winner is None:
            verdict = f"no significant difference (p_holm={_fmt_p(ph)}, A12={a12:.2f})"
        else:
            loser = nb if winner == na else na
            a_win = a12 if winner == na else 1.0 - a12
            if not higher_is_better:
                a_win = 1.0 - a_win
            verdict = (f"{winner} beats {loser} (p_holm={_fmt_p(ph)}, A12={a_win:.2f}, "
                       f"{mag} effect)")
        out.append(PairwiseResult(na, nb, test, stat, p, float(ph), a12, mag,
                                  int(n_a), int(n_b), winner, verdict))
    return out


def _fmt_p(p: float) -> str:
    if math.isnan(p):
        return "nan"
    if p < 0.001:
        return f"{p:.1e}"
    return f"{p:.3f}"


# ---------------------------------------------------------------------------------------
# Several tables: ranks, Friedman, Nemenyi
# ---------------------------------------------------------------------------------------

def _rank_matrix(matrix, higher_is_better: bool) -> np.ndarray:
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2:
        raise NasbenchError("expected a (tables x strategies) matrix")
    if np.isnan(m).any():
        raise NasbenchError("the (tables x strategies) matrix has missing values; every "
                            "strategy must be run on every table")
    return _st.rankdata(-m if higher_is_better else m, axis=1)


def average_ranks(matrix, higher_is_better: bool = True) -> np.ndarray:
    """Average rank of each strategy (column) over tables (rows); rank 1 is the best,
    ties get the average of the ranks they span (so each row's ranks sum to k(k+1)/2)."""
    return _rank_matrix(matrix, higher_is_better).mean(axis=0)


@dataclass(frozen=True)
class FriedmanResult:
    """Friedman test over n tables (blocks) and k strategies.

    `statistic`/`pvalue` are the chi-square version (scipy.stats.friedmanchisquare);
    `iman_davenport`/`iman_davenport_pvalue` the less conservative F version that
    Demsar (2006) recommends.
    """

    statistic: float
    pvalue: float
    iman_davenport: float
    iman_davenport_pvalue: float
    k: int
    n: int
    avg_ranks: tuple[float, ...]


def friedman(matrix, higher_is_better: bool = True) -> FriedmanResult:
    """Friedman test on a (tables x strategies) matrix; needs >= 3 strategies, >= 2 tables."""
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2:
        raise NasbenchError("friedman: expected a (tables x strategies) matrix")
    n, k = m.shape
    if k < 3:
        raise NasbenchError(f"friedman: needs at least 3 strategies, got {k} (for two, use "
                            "pairwise_tests with paired=True over the tables)")
    if n < 2:
        raise NasbenchError(f"friedman: needs at least 2 tables, got {n}")
    ranks = _rank_matrix(m, higher_is_better)
    avg = ranks.mean(axis=0)
    if np.all(ranks == ranks[:, :1]):  # every row fully tied
        chi2, p = 0.0, 1.0
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = _st.friedmanchisquare(*m.T)
        chi2, p = float(r.statistic), float(r.pvalue)
    denom = n * (k - 1) - chi2
    if denom <= 0:
        f, pf = math.inf, 0.0
    else:
        f = (n - 1) * chi2 / denom
        pf = float(_st.f.sf(f, k - 1, (k - 1) * (n - 1)))
    return FriedmanResult(chi2, p, float(f), pf, k, n, tuple(float(a) for a in avg))


def nemenyi_q(k: int, alpha: float = 0.05) -> float:
    """Critical value q_alpha of the Nemenyi test for k strategies: the studentized range
    quantile (infinite degrees of freedom) divided by sqrt(2), as tabulated by Demsar."""
    if k < 2:
        raise NasbenchError(f"nemenyi_q: needs at least 2 strategies, got {k}")
    if not 0 < alpha < 1:
        raise NasbenchError(f"nemenyi_q: alpha must be in (0, 1), got {alpha}")
    return float(_st.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2))


def nemenyi_cd(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks: q_alpha * sqrt(k(k+1) / (6n)).

    Two strategies whose average ranks over n tables differ by at least this are
    significantly different (Demsar 2006)."""
    if n < 1:
        raise NasbenchError(f"nemenyi_cd: needs at least 1 table, got {n}")
    return nemenyi_q(k, alpha) * math.sqrt(k * (k + 1) / (6.0 * n))


def cd_groups(avg_ranks: Mapping[str, float], cd: float) -> list[tuple[str, ...]]:
    """Maximal groups of strategies whose average ranks all lie within less than `cd` of
    each other (not significantly different), in rank order: the bars of a CD diagram.
    Single strategies are not returned as groups."""
    items = sorted(avg_ranks.items(), key=lambda kv: kv[1])
    names = [k for k, _ in items]
    r = np.array([v for _, v in items], dtype=float)
    groups: list[tuple[int, int]] = []
    for i in range(len(r)):
        j = i
        while j + 1 < len(r) and r[j + 1] - r[i] < cd:
            j += 1
        if j > i and not any(s <= i and j <= e for s, e in groups):
            groups.append((i, j))
    return [tuple(names[s:e + 1]) for s, e in groups]
