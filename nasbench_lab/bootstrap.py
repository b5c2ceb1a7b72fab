"""Seeded bootstrap confidence intervals and the final-performance table (mean, std, median, CI)."""
from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy import stats as _st

from nasbench_lab import NasbenchError


def _as_rng(rng) -> np.random.Generator:
    """A Generator from a Generator, an int seed, or None (None means seed 0: reports must
    be reproducible, so there is deliberately no unseeded default)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(0 if rng is None else rng)


def _percentile_of_score(a: np.ndarray, score: float) -> float:
    """Fraction of `a` below `score`, counting ties as one half (as scipy's BCa does)."""
    return ((a < score).sum() + (a <= score).sum()) / (2.0 * a.size)


def bootstrap_ci(values, statistic: Callable[..., np.ndarray] = np.mean,
                 level: float = 0.95, n_boot: int = 4000, rng=None,
                 method: str = "bca") -> tuple[float, float]:
    """Bootstrap confidence interval of `statistic` (called as `statistic(x, axis=-1)`).

    method="percentile" or "bca" (bias-corrected and accelerated, Efron 1987; the
    acceleration comes from the jackknife). NaNs are dropped first. Degenerate samples:
    fewer than 2 values gives (NaN, NaN); all values equal gives (v, v). Deterministic
    for a given `rng` (a Generator or a seed; None means seed 0).
    """
    x = np.asarray(values, dtype=float).ravel()
    x = x[~np.isnan(x)]
    if not 0 < level < 1:
        raise NasbenchError(f"bootstrap_ci: level must be in (0, 1), got {level}")
    if method not in ("percentile", "bca"):
        raise NasbenchError(f"bootstrap_ci: unknown method {method!r} (use 'percentile' or 'bca')")
    n = x.size
    if n < 2:
        return (math.nan, math.nan)
    if np.all(x == x[0]):
        return (float(x[0]), float(x[0]))
    return _bootstrap_many([x], statistic, level, n_boot, _as_rng(rng), method)[0]


def _bootstrap_many(xs, statistic, level: float, n_boot: int, gen, method: str) -> list[tuple[float, float]]:
    """`bootstrap_ci` of several NaN-free samples of one size n >= 2, none constant, that share
    the resampled indices: each interval is the one `bootstrap_ci` gives that sample alone
    with a generator in `gen`'s state (the indices drawn depend only on n and the generator)."""
    n = xs[0].size
    theta_hat = [float(statistic(x, axis=-1)) for x in xs]
    # Resample in chunks to bound memory for big samples.
    chunk = max(1, min(n_boot, 2_000_000 // n))
    rows = max(1, 100_000 // n)
    boots = [[] for _ in xs]
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        idx = gen.integers(0, n, size=(b, n))
        for r in range(0, b, rows):  # a block of rows stays in cache while every sample reads it
            for x, out in zip(xs, boots):
                out.append(np.asarray(statistic(x[idx[r:r + rows]], axis=-1), dtype=float))
        done += b
    return [_interval(x, th, np.concatenate(bt), statistic, level, n_boot, method)
            for x, th, bt in zip(xs, theta_hat, boots)]


def _interval(x, theta_hat, theta_b, statistic, level, n_boot, method) -> tuple[float, float]:
    n = x.size
    alpha = (1 - level) / 2
    if method == "percentile":
        qlo, qhi = alpha, 1 - alpha
    else:
        p0 = _percentile_of_score(theta_b, theta_hat)
        p0 = min(max(p0, 1.0 / (2 * n_boot)), 1 - 1.0 / (2 * n_boot))
        z0 = _st.norm.ppf(p0)
        # Jackknife (leave-one-out) estimates for the acceleration. For the mean, the
        # leave-one-out deviations are (x_i - mean) / (n - 1) exactly; the acceleration does
        # not depend on the scale, so x - mean stands for them (O(n), not O(n^2), and without
        # the cancellation of subtracting n nearly equal means).
        if statistic is np.mean:
            d = x - x.mean()
        else:
            loo = np.array([statistic(np.delete(x, i), axis=-1) for i in range(n)], dtype=float)
            d = loo.mean() - loo
        denom = 6.0 * (d ** 2).sum() ** 1.5
        a = (d ** 3).sum() / denom if denom > 0 else 0.0
        z = _st.norm.ppf([alpha, 1 - alpha])
        adj = _st.norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))
        qlo, qhi = float(adj[0]), float(adj[1])
    lo, hi = np.quantile(theta_b, [qlo, qhi])
    return (float(lo), float(hi))


def summarize(values, level: float = 0.95, n_boot: int = 4000, rng=None,
              method: str = "bca") -> dict:
    """Mean, std (ddof=1), median and a bootstrap CI of the mean of one sample.

    Returns a dict with keys mean, std, median, ci_low, ci_high, n (values used) and
    n_missing (NaNs dropped, e.g. runs that never saw a valid architecture), plus level.
    """
    x = np.asarray(values, dtype=float).ravel()
    missing = int(np.isnan(x).sum())
    x = x[~np.isnan(x)]
    lo, hi = bootstrap_ci(x, np.mean, level=level, n_boot=n_boot, rng=rng, method=method)
    return _summary(x, missing, lo, hi, level)


def _summary(x: np.ndarray, missing: int, lo: float, hi: float, level: float) -> dict:
    n = int(x.size)
    return {
        "mean": float(x.mean()) if n else math.nan,
        "std": float(x.std(ddof=1)) if n > 1 else math.nan,
        "median": float(np.median(x)) if n else math.nan,
        "ci_low": lo,
        "ci_high": hi,
        "n": n,
        "n_missing": missing,
        "level": float(level),
    }


def summary_table(samples: Mapping[str, Sequence[float]], level: float = 0.95,
                  n_boot: int = 4000, rng=None, method: str = "bca") -> dict[str, dict]:
    """`summarize` for each named sample. Each gets its own seed derived from `rng`, so a
    strategy's interval does not depend on which other strategies are in the table."""
    base = rng if isinstance(rng, (int, np.integer)) else (0 if rng is None else None)
    out = {}
    for name, vals in samples.items():
        if base is None:  # a Generator was given: draw from it in order
            r = rng
        else:
            r = np.random.default_rng([int(base), *name.encode("utf-8")])
        out[name] = summarize(vals, level=level, n_boot=n_boot, rng=r, method=method)
    return out




def summary_tables(samples: Mapping[object, Mapping[str, Sequence[float]]], level: float = 0.95,
                   n_boot: int = 4000, rng=None, method: str = "bca") -> dict[object, dict[str, dict]]:
    """{key: summary_table(samples[key])} for several tables of the same names (e.g. one per
    metric), the same numbers as one `summary_table` call per key: a name's samples of one
    size draw the same resampled indices there, so here they draw them once."""
    base = rng if isinstance(rng, (int, np.integer)) else (0 if rng is None else None)
    if base is None:  # a Generator: each table draws from it in turn
        return {k: summary_table(v, level=level, n_boot=n_boot, rng=rng, method=method) for k, v in samples.items()}
    if not 0 < level < 1:
        raise NasbenchError(f"bootstrap_ci: level must be in (0, 1), got {level}")
    if method not in ("percentile", "bca"):
        raise NasbenchError(f"bootstrap_ci: unknown method {method!r} (use 'percentile' or 'bca')")
    out = {k: {} for k in samples}
    names = list(dict.fromkeys(name for v in samples.values() for name in v))
    for name in names:
        keys = [k for k in samples if name in samples[k]]
        clean = {}
        for k in keys:
            x = np.asarray(samples[k][name], dtype=float).ravel()
            clean[k] = (x[~np.isnan(x)], int(np.isnan(x).sum()))
        ci = {k: (math.nan, math.nan) if x.size < 2 else (float(x[0]), float(x[0]))
              for k, (x, _) in clean.items() if x.size < 2 or np.all(x == x[0])}
        by_n = {}
        for k in keys:
            if k not in ci:
                by_n.setdefault(clean[k][0].size, []).append(k)
        for group in by_n.values():
            gen = np.random.default_rng([int(base), *name.encode("utf-8")])
            for k, lohi in zip(group, _bootstrap_many([clean[k][0] for k in group], np.mean, level, n_boot,
                                                      gen, method)):
                ci[k] = lohi
        for k in keys:
            out[k][name] = _summary(clean[k][0], clean[k][1], *ci[k], level)
    return {k: {name: out[k][name] for name in samples[k]} for k in samples}
