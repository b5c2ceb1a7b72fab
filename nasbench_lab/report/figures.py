"""The report's figures, as base64 PNGs, drawn by `nasbench_lab.plots` from the summary."""
from __future__ import annotations

import numpy as np

from nasbench_lab.report.format import fmt as _fmt
from nasbench_lab.report.manifest import LEVEL, METRIC_LABEL


def make_figures(summary: dict, curves: dict) -> dict:
    """{key: base64 PNG} for every figure of the report."""
    from nasbench_lab import plots

    figs = {}
    setup = summary["setup"]
    strategies = list(setup["strategies"])
    for tname, tab in summary["tables"].items():
        c = curves[tname]
        n_runs = min(tab["final"][s]["runs"] for s in strategies)
        if tab.get("hypervolume"):
            from nasbench_lab.report.front_figures import make_mo_figures

            figs.update(make_mo_figures(tname, tab, c, n_runs))
        xlabel = plots.TIME_LABEL if c["x"] == "time" else "queries"
        note = f"mean and {LEVEL:.0%} CI over {n_runs} runs per strategy"
        reg = {s: (c["regret"][s]["mean"], c["regret"][s]["ci_low"], c["regret"][s]["ci_high"])
               for s in strategies}
        centers = np.concatenate([np.asarray(v[0], dtype=float) for v in reg.values()])
        if not np.isfinite(centers).any():  # no run made a query within the budget
            continue
        logy = bool(np.nanmin(centers) > 0)
        facts = tab["facts"]
        on = f" on {facts['report_table']['name']}" if facts.get("report_table") else ""  # transfer/
        fig = plots.plot_anytime(c["grid"], reg,
                                 "regret (pp" + (", log scale)" if logy else ")"),
                                 f"{tname}: validation regret = oracle's {_fmt(facts['oracle']['valid'])}% "
                                 f"- incumbent's ({facts['report_epochs']} epochs{on})",
                                 xlabel=xlabel, logy=logy, band_note=note)
        _label_minor_x(fig)
        figs[f"anytime_regret/{tname}"] = plots.figure_to_base64_png(fig)
        tst = {s: (c["test"][s]["mean"], c["test"][s]["ci_low"], c["test"][s]["ci_high"])
               for s in strategies}
        fig = plots.plot_anytime(c["grid"], tst, "incumbent's test accuracy (%)",
                                 f"{tname}: test accuracy of the incumbent ({facts['report_epochs']} epochs{on})",
                                 xlabel=xlabel, band_note=note)
        _label_minor_x(fig)
        ot = facts["oracle"]["test"]
        ax = fig.axes[0]
        # Zoom on the second half of the (log) grid: the first queries span tens of points
        # and would flatten the end, where strategies differ (the regret plot shows it all).
        g0 = len(c["grid"]) // 2
        tail = np.concatenate([np.asarray(v[j], dtype=float)[g0:] for v in tst.values() for j in range(3)])
        lo, hi = ax.get_ylim()
        if np.isfinite(tail).any() and np.nanmin(tail) > lo:
            bottom, top = float(np.nanmin(tail)), float(np.nanmax(tail))
            if ot is not None:
                top = max(top, ot)
            pad = 0.06 * max(top - bottom, 1e-6)
            ax.set_ylim(bottom - pad, top + pad)
            ax.set_title(ax.get_title() + f"\ny range fitted to x >= {_plain(c['grid'][g0])} "
                         "(the regret plot shows the whole run)")
        if ot is not None:
            lo, hi = ax.get_ylim()
            ax.set_ylim(lo, max(hi, ot + 0.04 * (hi - lo)))
            ax.axhline(ot, color="0.4", linestyle=":", linewidth=1.0)
            ax.annotate(f"test accuracy of the oracle (best validation) {ot:.2f}%", xy=(0.01, ot),
                        xycoords=("axes fraction", "data"), xytext=(0, 2), textcoords="offset points",
                        ha="left", va="bottom", fontsize=8, color="0.3")
        figs[f"anytime_test/{tname}"] = plots.figure_to_base64_png(fig)
        metric = setup["metric"]
        samp = {s: c["final_samples"][s][metric] for s in strategies}
        if any(np.isfinite(np.asarray(v, dtype=float)).any() for v in samp.values()):
            k = len(strategies)
            fig = plots.plot_final(samp, f"final {METRIC_LABEL[metric]}",
                                   f"{tname}: final {METRIC_LABEL[metric].split(' (')[0]} per run",
                                   kind="box", figsize=(max(5.5, min(14.0, 1.1 * k + 2.5)), 4.4))
            figs[f"final/{tname}"] = plots.figure_to_base64_png(fig)
        if len(strategies) >= 2 and tab["pairwise"]:
            fig = plots.plot_pairwise_matrix(tab["pairwise"], tab["ranking"], alpha=setup["alpha"],
                                             title=f"{tname}: final {metric} accuracy")
            figs[f"pairwise/{tname}"] = plots.figure_to_base64_png(fig)
    across = summary.get("across_tables")
    if across and across.get("avg_ranks"):
        fig = plots.plot_cd_diagram(across["avg_ranks"], across["cd"],
                                    title=f"Average rank over {len(summary['tables'])} tables "
                                          f"(Nemenyi, alpha = {setup['alpha']:g})",
                                    groups=across["groups"])
        figs["cd"] = plots.figure_to_base64_png(fig)
    return figs


def _plain(v) -> str:
    from nasbench_lab import plots

    return plots._plain_number(float(f"{v:.2g}"))


def _label_minor_x(fig) -> None:
    """Label the 2x and 5x minor ticks of a log x axis (a budget often spans only ~2 decades)."""
    from matplotlib.ticker import FuncFormatter

    from nasbench_lab import plots

    ax = fig.axes[0]
    if ax.get_xscale() == "log":
        ax.xaxis.set_minor_formatter(FuncFormatter(plots._minor_log_label))
