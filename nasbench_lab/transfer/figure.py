"""The transfer figure: a rank scatter per pair of tables (one point per cell) and the matrices of Spearman correlations."""
from __future__ import annotations

import math

import numpy as np

from nasbench_lab.plots import PALETTE, _new_figure, save_figure
from nasbench_lab.transfer.correlation import top_share

LABEL = {"test_acc": "test accuracy", "valid_acc": "validation accuracy"}


def _pair_metric(summary, pair) -> str | None:
    """test accuracy where both tables have it, else validation accuracy, else None."""
    for m in ("test_acc", "valid_acc"):
        if "skipped" not in pair["metrics"][m]:
            return m
    return None


def _percentile(v: np.ndarray) -> np.ndarray:
    """Rank of each value as a percentile (100 = best; ties share their mean rank)."""
    from scipy.stats import rankdata

    return 100.0 * rankdata(v) / len(v)


def plot_transfer(summary: dict, values: dict, path=None):
    """`summary` from pairs.transfer_summary, `values` from pairs.values_of (same tables, order)."""
    names = [t["name"] for t in summary["tables"]]
    short = [n.replace("nb201-", "") for n in names]
    pairs = [p for p in summary["pairs"] if _pair_metric(summary, p)]
    n_panels = len(pairs) + 2
    ncols = min(3, n_panels)
    nrows = math.ceil(n_panels / ncols)
    fig = _new_figure((4.4 * ncols, 4.0 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    unit = "distinct canonical cells" if summary["cells"] == "distinct" else "cells"
    for ax, p in zip(axes, pairs):
        m = _pair_metric(summary, p)
        i, j = names.index(p["a"]), names.index(p["b"])
        x, y = values[m][i], values[m][j]
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = x[ok], y[ok]
        top = np.zeros(len(x), bool)
        top[top_share(x)] = True
        x, y = _percentile(x), _percentile(y)  # what the rank correlations measure
        ax.scatter(x[~top], y[~top], s=3, alpha=0.25, color=PALETTE[0], lw=0, label="other cells", rasterized=True)
        ax.scatter(x[top], y[top], s=5, alpha=0.6, color=PALETTE[3], lw=0,
                   label=f"top 10% of {short[i]}", rasterized=True)
        r = p["metrics"][m]
        so, ko, st = r["spearman_overall"], r["kendall_overall"], r["spearman_top"]
        ci = (f" [{so['ci_low']:.2f}, {so['ci_high']:.2f}]" if so["ci_low"] == so["ci_low"] else "")
        ax.text(0.03, 0.97, f"Spearman {so['value']:.3f}{ci}\nKendall {ko['value']:.3f}\n"
                            f"top 10%: Spearman {st['value']:.3f}\n"
                            f"top-1% overlap {r['overlap']['1%']['share']:.2f}",
                transform=ax.transAxes, va="top", ha="left", fontsize=8,
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
        ta, tb = summary["tables"][i], summary["tables"][j]
        ax.set_xlabel(f"{short[i]} ({ta['epochs']} ep): rank percentile")
        ax.set_ylabel(f"{short[j]} ({tb['epochs']} ep): rank percentile")
        ax.set_xlim(0, 100.5)
        ax.set_ylim(0, 100.5)
        ax.set_title(f"{LABEL[m]}, {r['n']:,} cells", fontsize=10)
        ax.legend(loc="lower right", fontsize=7, markerscale=3, frameon=False)
    m = "test_acc" if any(v is not None for v in values["test_acc"]) else "valid_acc"
    mat = summary["matrix"][m]
    for ax, key, title in ((axes[len(pairs)], "spearman", f"Spearman, {LABEL[m]}, all cells"),
                           (axes[len(pairs) + 1], "spearman_top", f"Spearman in the row table's top 10%")):
        a = np.array(mat[key], dtype=float)
        im = ax.imshow(a, vmin=-1 if np.nanmin(a) < 0 else 0, vmax=1, cmap="viridis")
        for (r_, c_), v in np.ndenumerate(a):
            ax.text(c_, r_, "n/a" if not np.isfinite(v) else f"{v:.2f}", ha="center", va="center", fontsize=9,
                    color="black" if np.isfinite(v) and v > 0.6 else "white")
        ax.set_xticks(range(len(short)), short, rotation=30, ha="right", fontsize=8)
        ax.set_yticks(range(len(short)), short, fontsize=8)
        ax.set_title(title, fontsize=10)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    fig.suptitle(f"Transfer of final accuracy between tables: one point per {unit[:-1]} "
                 f"(seed mean, last epoch); orange: the x table's top 10%", fontsize=11)
    if path is not None:
        save_figure(fig, path, dpi=100)  # a 3x3 grid of scatters: 100 dpi keeps the PNG small
    return fig
