"""How finely a table can tell architectures apart: seed noise and ranking reliability.

A table with several training seeds per architecture measures its own noise. These
statistics say whether a difference between two strategies (or two cells) can be real:
- `seed_noise`: the per-cell standard deviation of one run's final accuracy across seeds
  (root of the mean per-cell variance), in points;
- `seed_spearman`: Spearman rank correlation of final validation accuracy between two seeds
  (mean over seed pairs);
- `top_half_spearman`: cells in the better half on one seed, Spearman between two other
  seeds on those cells (mean over the choices of selection seed; needs 3 seeds). Selecting
  on one seed and measuring on others avoids the selection bias of ranking the top half by
  the same runs;
- `arch_share_top_half`: in that top half, the share of a single run's variance due to the
  cell (one-way random-effects intra-class correlation);
- `best_minus_median`: best minus median seed-mean final test accuracy.
All are computed over distinct cells (rows with identical values are counted once).
"""
from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr


def _rho(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def icc(x: np.ndarray) -> float:
    """Share of a single run's variance due to the cell; `x` is (seeds, cells)."""
    k, n = x.shape
    if n < 3 or k < 2:
        return float("nan")
    means = x.mean(0)
    msb = k * means.var(ddof=1)
    msw = ((x - means) ** 2).sum() / (n * (k - 1))
    den = msb + (k - 1) * msw
    return float((msb - msw) / den) if den > 0 else float("nan")


def _mean_or_nan(values) -> float:
    """Mean of the finite values; NaN (no warning) when there are none (too few cells)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else float("nan")


def seed_statistics(valid: np.ndarray, test: np.ndarray) -> dict:
    """Statistics of final accuracies `valid`, `test`: (seeds, cells) arrays, no NaN."""
    S = valid.shape[0]
    out = {"n_cells": int(valid.shape[1]), "n_seeds": int(S)}
    tm = test.mean(0)
    out["best_minus_median"] = float(tm.max() - np.median(tm))
    if S < 2:
        return out
    out["seed_noise"] = float(np.sqrt(valid.var(0, ddof=1).mean()))
    out["seed_noise_test"] = float(np.sqrt(test.var(0, ddof=1).mean()))
    pairs = [(i, j) for i in range(S) for j in range(i + 1, S)]
    out["seed_spearman"] = _mean_or_nan([_rho(valid[i], valid[j]) for i, j in pairs])
    out["arch_share"] = icc(valid)
    if S >= 3:
        rs, shares = [], []
        for s in range(S):
            others = [o for o in range(S) if o != s]
            sel = valid[s] >= np.median(valid[s])
            rs += [_rho(valid[i][sel], valid[j][sel]) for i in others for j in others if i < j]
            shares.append(icc(valid[others][:, sel]))
        out["top_half_spearman"] = _mean_or_nan(rs)
        out["arch_share_top_half"] = _mean_or_nan(shares)
    return out


def table_resolution(table, schedule=None) -> dict:
    """`seed_statistics` of a table's final epoch, over distinct cells with every seed present."""
    sch = table.schedule(schedule)
    if "valid_acc" not in sch.metrics:  # e.g. NATS-Bench's cifar10 (trained on train+valid)
        return {"schedule": sch.name, "n_cells": 0, "n_seeds": len(sch.seeds)}
    present = table.present(sch.name)
    valid = np.asarray(table.array(sch.name, "valid_acc")[:, :, -1], dtype=np.float64)
    test = (np.asarray(table.array(sch.name, "test_acc")[:, :, -1], dtype=np.float64)
            if "test_acc" in sch.metrics else valid)
    full = present.all(axis=1) & np.isfinite(valid).all(axis=1) & np.isfinite(test).all(axis=1)
    if not full.any():
        return {"schedule": sch.name, "n_cells": 0, "n_seeds": len(sch.seeds)}
    rows = np.concatenate([valid[full], test[full]], axis=1)
    _, first = np.unique(rows, axis=0, return_index=True)
    idx = np.flatnonzero(full)[np.sort(first)]
    out = seed_statistics(valid[idx].T, test[idx].T)
    out["schedule"] = sch.name
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()}


#: figures a resolution dict may hold, with the range a sound value lies in (accuracies are in points)
FIGURES = {"seed_noise": (0.0, 100.0), "seed_noise_test": (0.0, 100.0), "seed_spearman": (-1.0, 1.0),
           "top_half_spearman": (-1.0, 1.0), "arch_share": (-1.0, 1.0), "arch_share_top_half": (-1.0, 1.0),
           "best_minus_median": (0.0, 100.0), "n_cells": (0, None), "n_seeds": (0, None)}


def _is_number(v) -> bool:
    return not isinstance(v, bool) and isinstance(v, (int, float, np.integer, np.floating))


def _real(v) -> float | None:
    """`v` as a finite float, or None (missing, null, NaN, infinite, or not a number)."""
    if not _is_number(v):
        return None
    v = float(v)
    return v if np.isfinite(v) else None


def problem(res) -> str | None:
    """What is wrong with a stored resolution dict (e.g. a hand-edited compare.json), or None.
    Missing figures and null/NaN ones are sound (unknown, e.g. too few cells); a figure that is
    not a number, or out of its range (a negative seed noise), is not."""
    if res is None:
        return None
    if not isinstance(res, dict):
        return f"it is a JSON {type(res).__name__}, not an object"
    for key, (lo, hi) in FIGURES.items():
        v = res.get(key)
        if v is None:
            continue
        if not _is_number(v):
            return f"{key} is {v!r}, not a number"
        x = _real(v)  # None: NaN or infinite, read as unknown
        if x is not None and ((lo is not None and x < lo) or (hi is not None and x > hi)):
            return f"{key} is {v!r}, outside [{lo:g}, {'inf' if hi is None else f'{hi:g}'}]"
    return None


def _f(res: dict, key: str) -> str:
    v = _real(res.get(key))
    return "n/a" if v is None else f"{v:.2f}"


def describe(res) -> str:
    """One line a user can read: what differences the table can resolve ("n/a" for a figure
    the table has too few cells for)."""
    res = res if isinstance(res, dict) else {}
    if not _real(res.get("n_cells")):
        return "no cell has a validation accuracy for every seed: the resolution is unknown"
    n_seeds = _real(res.get("n_seeds")) or 0
    if n_seeds < 2:
        return ("one value per cell (one seed, or a mean over seeds taken elsewhere): the table cannot "
                "measure its own seed noise, so it cannot say which differences between cells or "
                f"strategies are within it; best - median test {_f(res, 'best_minus_median')} points")
    text = (f"seed noise {_f(res, 'seed_noise')} points per run (valid; test {_f(res, 'seed_noise_test')}), "
            f"seed Spearman {_f(res, 'seed_spearman')}")
    if n_seeds >= 3:
        text += (f", top-half Spearman {_f(res, 'top_half_spearman')} (arch share of variance "
                 f"there {_f(res, 'arch_share_top_half')})")
    return text + f", best - median test {_f(res, 'best_minus_median')} points"


def seed_noise(res, metric: str = "test") -> float | None:
    """One run's seed noise of `metric` ("test" or "valid") accuracy on this table, in points;
    None when unknown (missing, null, NaN or not a number)."""
    if not isinstance(res, dict):
        return None
    return _real(res.get("seed_noise_test" if metric == "test" else "seed_noise"))


def below_noise(median_difference: float, res, metric: str = "test") -> bool:
    """True when a median difference is smaller than one run's seed noise on this table
    (False when the noise is unknown: missing, null, NaN or not a positive number)."""
    noise = seed_noise(res, metric)
    diff = _real(median_difference)
    return noise is not None and noise > 0 and diff is not None and abs(diff) < noise
