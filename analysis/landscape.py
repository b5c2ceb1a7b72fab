"""Landscape statistics of a table (the figures quoted in datasets/README.md).

Usage: python analysis/landscape.py TABLE [--png FILE]

Over the distinct cells that are trained (one entry per canonical key), prints:
- rank correlation (Spearman) between seeds of the final validation accuracy, of one seed
  vs the mean of the others, and within the better half of the cells;
- best minus median of the seed-mean final test accuracy;
- rank correlation between mid-training and final validation accuracy (seed mean);
- op importance: for each op, the mean final validation accuracy of cells with that op on
  an edge minus the mean over all cells, averaged over the six edges.
With --png, saves a figure: histogram of seed-mean test accuracy, seed 0 vs seed 1,
mid-training vs final validation accuracy, op importance.
"""
from __future__ import annotations

import argparse
import itertools

import numpy as np
from scipy.stats import spearmanr

from nasbench_lab.tables import open_table
from nasbench_lab.tables.build import make_plan


def landscape(name: str) -> dict:
    t = open_table(name)
    sch = t.schedule(None)
    plan = make_plan(t.space, [0])
    idx = np.array([plan.representative[k] for k in plan.keys])
    present = t.present(sch.name)[idx]
    va = t.array(sch.name, "valid_acc")[idx]
    te = t.array(sch.name, "test_acc")[idx]
    out = {"table": t.name, "distinct_cells": len(idx), "trained_per_seed": present.sum(0).tolist()}
    pairs = {}
    for a, b in itertools.combinations(range(len(sch.seeds)), 2):
        both = present[:, a] & present[:, b]
        if both.sum() >= 10:
            pairs[f"{sch.seeds[a]}-{sch.seeds[b]}"] = (float(spearmanr(va[both, a, -1], va[both, b, -1]).statistic),
                                                       int(both.sum()))
    out["seed_spearman_final_valid"] = pairs
    full = present.all(1)
    if len(sch.seeds) >= 3 and full.sum() >= 10:
        fv = va[full, :, -1].astype(float)
        out["seed_vs_mean_of_others"] = [float(spearmanr(fv[:, a], np.delete(fv, a, 1).mean(1)).statistic)
                                         for a in range(fv.shape[1])]
        m = fv.mean(1)
        upper = m >= np.median(m)
        out["upper_half"] = {"seed_spearman_01": float(spearmanr(fv[upper, 0], fv[upper, 1]).statistic),
                             "median_seed_std": float(np.median(fv[upper].std(1, ddof=1))),
                             "std_of_seed_means": float(m[upper].std()), "cells": int(upper.sum())}
    any_seed = present.any(1)
    with np.errstate(invalid="ignore"):
        mean_te = np.nanmean(np.where(present[:, :, None], te, np.nan), axis=1)[:, -1]
        mean_va = np.nanmean(np.where(present[:, :, None], va, np.nan), axis=1)
    m = mean_te[any_seed]
    out["test_best"], out["test_median"] = float(np.nanmax(m)), float(np.nanmedian(m))
    out["best_minus_median_test"] = out["test_best"] - out["test_median"]
    E = len(sch.recorded_epochs)
    mids = {}
    for e in range(E - 1):
        mids[int(sch.recorded_epochs[e])] = float(spearmanr(mean_va[any_seed, e], mean_va[any_seed, -1]).statistic)
    out["spearman_epoch_vs_final_valid"] = mids
    final = mean_va[any_seed, -1]
    ch = np.array([t.space.from_index(int(i)).choices for i in idx[any_seed]])
    ops = getattr(t.space, "ops", tuple(str(o) for o in range(t.space.n_options)))
    grand = float(np.nanmean(final))
    out["op_importance"] = {ops[o]: float(np.mean([np.nanmean(final[ch[:, e] == o]) - grand
                                                   for e in range(ch.shape[1]) if (ch[:, e] == o).any()]))
                            for o in range(len(ops))}
    out["_arrays"] = (mean_te[any_seed], va[:, :, -1], present, mean_va[any_seed])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("table")
    ap.add_argument("--png")
    args = ap.parse_args()
    r = landscape(args.table)
    print(f"table {r['table']}: {r['distinct_cells']} distinct cells; trained per seed {r['trained_per_seed']}")
    for pair, (rho, n) in r["seed_spearman_final_valid"].items():
        print(f"  seed {pair}: Spearman of final validation accuracy {rho:.3f} over {n} cells")
    if "seed_vs_mean_of_others" in r:
        print("  one seed vs the mean of the others (Spearman, final validation accuracy): "
              + ", ".join(f"{v:.3f}" for v in r["seed_vs_mean_of_others"]))
        u = r["upper_half"]
        print(f"  better half ({u['cells']} cells with seed-mean final validation accuracy >= median): seed "
              f"Spearman {u['seed_spearman_01']:.3f}; median per-cell seed std {u['median_seed_std']:.2f} vs std "
              f"of the seed means {u['std_of_seed_means']:.2f} points")
    print(f"  seed-mean final test accuracy: best {r['test_best']:.2f}, median {r['test_median']:.2f}, "
          f"best - median {r['best_minus_median_test']:.2f} points")
    for e, rho in r["spearman_epoch_vs_final_valid"].items():
        print(f"  Spearman of validation accuracy at epoch {e} vs final: {rho:.3f}")
    print("  op importance (mean final valid acc with the op on an edge minus overall mean, over edges): "
          + ", ".join(f"{o} {v:+.2f}" for o, v in sorted(r["op_importance"].items(), key=lambda kv: -kv[1])))
    if args.png:
        save_figure(r, args.png)
        print(f"  figure: {args.png}")


def _zoom(ax, *values, q=0.5):
    """Limit both axes to the bulk of the data (the constant-zero cell sits at chance)."""
    v = np.concatenate([np.ravel(x) for x in values])
    v = v[np.isfinite(v)]
    lo, hi = np.percentile(v, q), v.max()
    pad = 0.03 * (hi - lo)
    return lo - pad, hi + pad, int((v < lo).sum())


def save_figure(r: dict, path: str) -> None:
    from matplotlib.figure import Figure

    mean_te, va, present, mean_va = r["_arrays"]
    fig = Figure(figsize=(10, 8), layout="constrained")
    (a1, a2), (a3, a4) = fig.subplots(2, 2)
    lo, hi, n_out = _zoom(a1, mean_te)
    a1.hist(mean_te[mean_te >= lo], bins=60, range=(lo, hi), color="#0072B2")
    a1.axvline(np.nanmedian(mean_te), color="k", lw=1, ls="--", label=f"median {np.nanmedian(mean_te):.2f}")
    a1.axvline(np.nanmax(mean_te), color="#D55E00", lw=1, label=f"best {np.nanmax(mean_te):.2f}")
    a1.legend(loc="upper left", frameon=False)
    a1.set_xlabel("final test accuracy, seed mean (%)")
    a1.set_ylabel("distinct cells")
    a1.set_title(f"{r['table']}: {len(mean_te)} distinct cells"
                 + (f" ({n_out} below {lo:.0f}% not shown)" if n_out else ""), fontsize=10)
    if present.shape[1] > 1:
        both = present[:, 0] & present[:, 1]
        x, y = va[both, 0], va[both, 1]
        lo, hi, n_out = _zoom(a2, x, y)
        a2.scatter(x, y, s=3, alpha=0.25, color="#D55E00", rasterized=True)
        a2.plot([lo, hi], [lo, hi], color="k", lw=0.8)
        a2.set_xlim(lo, hi), a2.set_ylim(lo, hi)
        rho = spearmanr(x, y).statistic
        a2.set_title(f"seed 0 vs seed 1: Spearman {rho:.2f}" + (f" ({n_out} points off-axis)" if n_out else ""),
                     fontsize=10)
        a2.set_xlabel("final validation accuracy, seed 0 (%)")
        a2.set_ylabel("final validation accuracy, seed 1 (%)")
    if mean_va.shape[1] > 1:
        e = max(0, mean_va.shape[1] - 3) if mean_va.shape[1] > 2 else 0
        x, y = mean_va[:, e], mean_va[:, -1]
        a3.scatter(x, y, s=3, alpha=0.25, color="#009E73", rasterized=True)
        a3.set_xlim(*_zoom(a3, x, q=1.0)[:2]), a3.set_ylim(*_zoom(a3, y, q=1.0)[:2])
        ep = list(r["spearman_epoch_vs_final_valid"])[e]
        a3.set_title(f"epoch {ep} vs final (seed mean): Spearman {r['spearman_epoch_vs_final_valid'][ep]:.2f}",
                     fontsize=10)
        a3.set_xlabel(f"validation accuracy after epoch {ep} (%)")
        a3.set_ylabel("final validation accuracy (%)")
    imp = sorted(r["op_importance"].items(), key=lambda kv: kv[1])
    a4.barh([k for k, _ in imp], [v for _, v in imp],
            color=["#D55E00" if v < 0 else "#0072B2" for _, v in imp])
    a4.axvline(0, color="k", lw=0.8)
    a4.set_xlabel("mean final validation accuracy with the op on an edge\nminus the overall mean (points)")
    a4.set_title("op importance", fontsize=10)
    fig.savefig(path, dpi=100)

if __name__ == "__main__":
    main()
