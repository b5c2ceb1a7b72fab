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


def describe(res: dict) -> str:
    """One line a user can read: what differences the table can resolve."""
    if not res.get("n_cells"):
        return "no cell has a validation accuracy for every seed: the resolution is unknown"
    if res.get("n_seeds", 0) < 2 or "seed_noise" not in res:
        return ("one seed per cell: the table cannot measure its own seed noise, so differences "
                "between cells or strategies of a few tenths of a point may be noise")
    text = (f"seed noise {res['seed_noise']:.2f} points per run (valid), seed Spearman "
            f"{res['seed_spearman']:.2f}")
    if "top_half_spearman" in res:
        text += (f", top-half Spearman {res['top_half_spearman']:.2f} (arch share of variance "
                 f"there {res['arch_share_top_half']:.2f})")
    return text + f", best - median test {res['best_minus_median']:.2f} points"


def below_noise(median_difference: float, res: dict, metric: str = "test") -> bool:
    """True when a median difference is smaller than one run's seed noise on this table."""
    noise = res.get("seed_noise_test" if metric == "test" else "seed_noise")
    return noise is not None and abs(median_difference) < noise
