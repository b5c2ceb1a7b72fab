"""Rank agreement of two score vectors over the same cells: Spearman, Kendall tau, top decile, top-k overlap.

Conventions (stated in `transfer`'s output and the README):
- rank correlations are scipy.stats' Spearman rho and Kendall tau-b (ties handled by tau-b);
- "top decile" is the best ceil(10%) of the cells by the first table's score, and the
  correlations are measured on those cells between the first and the second table (how
  well the first task orders its own best cells on the second task);
- top-k overlap is |top k of A & top k of B| / k, each top k by descending score with ties
  broken by cell order (a stable sort), so it is deterministic; chance level is k / n;
- intervals are percentile bootstrap intervals over cells resampled with replacement
  (scipy.stats.bootstrap, paired); for the top decile the selected cells are resampled (the
  selection is held fixed). Overlaps get no interval: a resample repeats cells, which makes a
  top-k set ill-defined.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

TOP_SHARE = 0.10
LEVEL = 0.95


def top_order(x: np.ndarray) -> np.ndarray:
    """Indices of `x` by descending value, ties in index order."""
    return np.argsort(-np.asarray(x, dtype=float), kind="stable")


def top_share(x: np.ndarray, share: float = TOP_SHARE) -> np.ndarray:
    """Indices of the best ceil(share * n) values of `x` (ties in index order), sorted."""
    n = len(x)
    k = min(n, max(1, math.ceil(share * n - 1e-9)))
    return np.sort(top_order(x)[:k])


def topk_overlap(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """|top k of a & top k of b| / k (k capped at the number of cells)."""
    k = min(int(k), len(a))
    if k <= 0:
        return float("nan")
    return len(np.intersect1d(top_order(a)[:k], top_order(b)[:k])) / k


def spearman(a, b) -> float:
    return _finite(stats.spearmanr(a, b).statistic) if _varies(a, b) else float("nan")


def kendall(a, b) -> float:
    return _finite(stats.kendalltau(a, b).statistic) if _varies(a, b) else float("nan")


def _varies(a, b) -> bool:
    return len(a) >= 3 and np.ptp(a) > 0 and np.ptp(b) > 0


def _finite(v) -> float:
    v = float(v)
    return v if math.isfinite(v) else float("nan")


def _spearman_axis(a, b, axis=-1):
    """Spearman of many resamples at once (rows), for a vectorised bootstrap."""
    ra = stats.rankdata(a, axis=axis)
    rb = stats.rankdata(b, axis=axis)
    ra = ra - ra.mean(axis=axis, keepdims=True)
    rb = rb - rb.mean(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ra * rb).sum(axis) / np.sqrt((ra * ra).sum(axis) * (rb * rb).sum(axis))


def _RNG_ARG(rng) -> dict:
    """scipy >= 1.15 names the generator `rng`; older versions `random_state`."""
    import inspect

    return {"rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state": rng}


def bootstrap_interval(a, b, which: str, *, n_resamples: int, rng: np.random.Generator,
                       level: float = LEVEL) -> tuple[float, float]:
    """Percentile bootstrap interval of `which` ('spearman' or 'kendall') over paired cells."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if not _varies(a, b) or n_resamples <= 0:
        return float("nan"), float("nan")
    if which == "spearman":
        fn, vec = _spearman_axis, True
    else:
        fn, vec = (lambda x, y: stats.kendalltau(x, y).statistic), False
    with np.errstate(invalid="ignore", divide="ignore"):
        res = stats.bootstrap((a, b), fn, paired=True, vectorized=vec, n_resamples=int(n_resamples),
                              confidence_level=level, method="percentile", **_RNG_ARG(rng))
    lo, hi = res.confidence_interval
    return _finite(lo), _finite(hi)


def agreement(a, b, *, ks=(10, 50, "1%"), n_resamples: int = 1000, seed: int = 0,
              share: float = TOP_SHARE, level: float = LEVEL) -> dict:
    """Every number `transfer` reports for one pair of aligned score vectors (finite only)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("agreement needs two 1-d arrays of one length")
    rng = np.random.default_rng(seed)
    n = len(a)
    top = top_share(a, share)
    out = {"n": n, "n_top": int(len(top)), "top_share": share, "level": level, "n_resamples": int(n_resamples)}
    for name, (x, y) in (("overall", (a, b)), ("top", (a[top], b[top]))):
        for which, fn in (("spearman", spearman), ("kendall", kendall)):
            lo, hi = bootstrap_interval(x, y, which, n_resamples=n_resamples, rng=rng, level=level)
            out[f"{which}_{name}"] = {"value": fn(x, y), "ci_low": lo, "ci_high": hi}
    out["overlap"] = {}
    for k in ks:
        kk = max(1, math.ceil(n * float(k[:-1]) / 100 - 1e-9)) if isinstance(k, str) else int(k)
        out["overlap"][str(k)] = {"k": min(kk, n), "share": topk_overlap(a, b, kk),
                                  "chance": min(kk, n) / n if n else float("nan")}
    return out
