"""Figures of one-shot searches: alpha trajectories and the collapse curve."""
from __future__ import annotations

import numpy as np

from nasbench_lab.spaces.nb201 import EDGES, OPS


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def alpha_figure(results, path, title: str = "") -> None:
    """softmax(alpha) per edge over epochs: one panel per edge, one line per op (mean over
    runs, shaded min-max)."""
    plt = _plt()
    A = np.array([r.alpha for r in results if r.alpha])  # runs x (epochs+1) x 6 x 5
    if A.size == 0:
        return
    fig, axes = plt.subplots(2, 3, figsize=(11, 5.5), sharex=True, sharey=True)
    x = np.arange(A.shape[1])
    for e, ax in enumerate(axes.ravel()):
        for k, op in enumerate(OPS):
            m = A[:, :, e, k].mean(0)
            ax.plot(x, m, label=op, lw=1.5)
            if A.shape[0] > 1:
                ax.fill_between(x, A[:, :, e, k].min(0), A[:, :, e, k].max(0), alpha=0.15)
        ax.set_title(f"edge {EDGES[e][0]}<-{EDGES[e][1]}", fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    for ax in axes[:, 0]:
        ax.set_ylabel("softmax(alpha)")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(title or f"{results[0].method}: op weights per edge ({A.shape[0]} runs)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def collapse_figure(summaries: dict, path) -> None:
    """Per method with an alpha: share of parameter-free ops in the derived cell, and its
    table test accuracy, against search epochs."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    for name, s in summaries.items():
        pe = s.get("per_epoch")
        if not pe:
            continue
        x = np.arange(1, len(pe["param_free_share"]) + 1)
        a1.plot(x, pe["param_free_share"], label=name)
        a2.plot(x, pe["test_mean"], label=name)
    a1.set_ylabel("share of none/skip/pool edges in the derived cell")
    a2.set_ylabel("table test accuracy of the derived cell (%)")
    for a in (a1, a2):
        a.set_xlabel("search epoch")
        a.grid(alpha=0.3)
        if a.get_legend_handles_labels()[0]:
            a.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
