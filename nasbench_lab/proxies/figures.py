"""The proxies' figure: Spearman with validation and test accuracy, overall and in the top cells."""
from __future__ import annotations

import numpy as np

from nasbench_lab.plots import _color, _new_figure, save_figure


def plot_evaluation(res: dict, path) -> None:
    """One panel per accuracy: each proxy's Spearman (95% bootstrap interval) over all cells and
    within the top fraction, as horizontal bars."""
    from nasbench_lab.proxies.evaluate import TARGETS

    names = list(res["proxies"])
    targets = [m for m in TARGETS if all(m in r for r in res["proxies"].values())]
    fig = _new_figure((4.2 * len(targets), 0.42 * len(names) + 1.4))
    axes = fig.subplots(1, len(targets), sharey=True, squeeze=False)[0]
    y = np.arange(len(names))
    for ax, m in zip(axes, targets):
        for j, (part, label) in enumerate((("all", "all cells"),
                                           ("top", f"top {100 * res['top_fraction']:g}%"))):
            vals, lo, hi = [], [], []
            for n in names:
                c = res["proxies"][n][m][part]
                v = c.get("spearman")
                ci = c.get("spearman_ci", [v, v]) if v is not None else [np.nan, np.nan]
                vals.append(np.nan if v is None else v)
                lo.append(np.nan if v is None else v - ci[0])
                hi.append(np.nan if v is None else ci[1] - v)
            ax.barh(y + (j - 0.5) * 0.38, vals, height=0.36, xerr=[lo, hi], color=_color(j),
                    label=label, error_kw={"elinewidth": 0.8, "capsize": 2})
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set_xlim(-1, 1)
        ax.set_xlabel(f"Spearman with final {m.replace('_', ' ')}")
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, names)
    axes[0].invert_yaxis()
    axes[-1].legend(loc="lower right", fontsize=8)
    fig.suptitle(f"zero-cost proxies on {res['table']}: {res['cells']} distinct cells, "
                 f"{len(res['seeds'])} init seeds (95% bootstrap)", fontsize=10)
    save_figure(fig, path)
