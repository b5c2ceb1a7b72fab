"""The report's multi-objective figures (hypervolume over time, final fronts) and their HTML section."""
from __future__ import annotations

import numpy as np

from nasbench_lab.report.manifest import LEVEL

LABELS = {"valid_acc": "test accuracy (%)", "params": "parameters", "flops": "FLOPs (multiply-adds)",
          "latency_ms": "latency (ms)"}


def hypervolume_figure(tname: str, mo: dict, curves: dict, grid, kind: str, n_runs: int):
    """The gap between the table's front's hypervolume and the mean hypervolume of the runs'
    fronts over time (log scale: the gap shrinks by orders of magnitude), with a CI band."""
    from nasbench_lab import plots

    top = mo["table_front_hypervolume"]
    bands = {s: tuple(top - np.asarray(b[k], dtype=float) for k in ("mean", "ci_high", "ci_low"))
             for s, b in curves["bands"].items()}
    costs = ", ".join(mo["objectives"][1:])
    positive = all(np.nanmin(np.where(np.isfinite(c), c, np.inf)) > 0 for c, _, _ in bands.values())
    fig = plots.plot_anytime(grid, bands, "hypervolume gap to the table's front" + (" (log scale)" if positive else ""),
                             f"{tname}: hypervolume of the front (test accuracy up; {costs} down)\n"
                             f"gap = the table's own front ({top:.4f}) - the run's; 0 = the whole front found",
                             xlabel=plots.TIME_LABEL if kind == "time" else "queries", logy=positive,
                             band_note=f"mean and {LEVEL:.0%} CI over {n_runs} runs per strategy")
    return fig


def front_figure(tname: str, mo: dict, all_points: np.ndarray):
    """Every cell (grey), the table's front (grey line) and each strategy's median-hypervolume
    run's final front (cells reported by validation, drawn at their test accuracy), in test
    accuracy against the first cost objective."""
    import matplotlib

    from nasbench_lab import plots

    cost = mo["objectives"][1]
    fig = plots._new_figure((8.0, 4.8))
    with matplotlib.rc_context(plots._RC):
        ax = fig.add_subplot()
        pts = np.asarray(all_points, dtype=float)
        ok = np.isfinite(pts).all(axis=1)
        ax.scatter(pts[ok, 1], pts[ok, 0], s=3, color="0.82", linewidths=0, label="all cells", rasterized=True)
        tf = np.asarray(mo["table_front"]["points"], dtype=float)
        if len(tf):
            tf = tf[np.argsort(tf[:, 1], kind="stable")]
            ax.plot(tf[:, 1], np.maximum.accumulate(tf[:, 0]), drawstyle="steps-post", color="0.35",
                    linestyle=":", linewidth=1.2, label="table's front")
        for i, (s, f) in enumerate(mo["median_fronts"].items()):
            p = np.asarray(f["points"], dtype=float)
            if not len(p):
                continue
            p = p[np.argsort(p[:, 1], kind="stable")]
            col = plots._color(i)
            # markers: the reported cells (chosen on validation, drawn at test accuracy); line:
            # the region they dominate in this plane, which is what the hypervolume measures
            ax.scatter(p[:, 1], p[:, 0], s=16, color=col, zorder=3)
            ax.plot(p[:, 1], np.maximum.accumulate(p[:, 0]), drawstyle="steps-post", color=col,
                    linestyle=plots.LINESTYLES[i % len(plots.LINESTYLES)], linewidth=1.5,
                    label=f"{s} (run {f['run']}, HV {f['hypervolume']:.4f})")
        ax.set_xscale("log" if cost != "latency_ms" else "linear")
        ax.set_xlabel(LABELS.get(cost, cost) + (" (log scale)" if cost != "latency_ms" else ""))
        ax.set_ylabel(LABELS["valid_acc"])
        top = pts[ok, 0]
        if top.size:
            ax.set_ylim(np.percentile(top, 5), top.max() + 0.05 * (top.max() - np.percentile(top, 5)))
        extra = f" (projection on {cost})" if len(mo["objectives"]) > 2 else ""
        ax.set_title(f"{tname}: final front of each strategy's median run{extra}")
        ax.legend(loc="lower right", fontsize=8)
    return fig


def make_mo_figures(tname: str, tab: dict, c: dict, n_runs: int) -> dict:
    """{key: base64 PNG} of one table's multi-objective figures."""
    from nasbench_lab import plots

    mo, mc = tab["hypervolume"], c["hv"]
    figs = {}
    if any(np.isfinite(np.asarray(b["mean"], dtype=float)).any() for b in mc["bands"].values()):
        figs[f"hv/{tname}"] = plots.figure_to_base64_png(
            hypervolume_figure(tname, mo, mc, c["grid"], c["x"], n_runs))
    figs[f"front/{tname}"] = plots.figure_to_base64_png(front_figure(tname, mo, mc["all_points"]))
    return figs


def html_section(t: str, tab: dict, figs: dict):
    """Values for the template's multi-objective block of one table (None without objectives)."""
    from nasbench_lab.report.format import fmt, fmt_p
    from nasbench_lab.report.html import _img
    from nasbench_lab.stats import format_a12

    mo = tab.get("hypervolume")
    if not mo:
        return None
    rows = [{"strategy": s, "median": fmt(mo["final"][s]["median"], 4), "mean": fmt(mo["final"][s]["mean"], 4),
             "std": fmt(mo["final"][s]["std"], 4),
             "ci": f"[{fmt(mo['final'][s]['ci_low'], 4)}, {fmt(mo['final'][s]['ci_high'], 4)}]",
             "n": mo["final"][s]["n"]} for s in mo["ranking"]]
    pairs = [{"a": d["a"], "b": d["b"], "p": fmt_p(d["p"]), "p_holm": fmt_p(d["p_holm"]),
              "a12": format_a12(d["a12"]), "magnitude": d["magnitude"], "winner": d["winner"],
              "plain": d["plain"]} for d in mo["pairwise"]]
    bounds = "; ".join(f"{k}: best {fmt(v[0], 4)}, worst {fmt(v[1], 4)}" for k, v in mo["bounds"].items())
    imgs = [_img(figs[k], f"{t}: {alt}") for k, alt in ((f"hv/{t}", "hypervolume over time"),
                                                          (f"front/{t}", "final fronts")) if k in figs]
    return {"objectives": ", ".join(mo["objectives"]), "reference": mo["reference"], "bounds": bounds,
            "table_hv": fmt(mo["table_front_hypervolume"], 4), "rows": rows, "pairs": pairs, "imgs": imgs,
            "max_params": mo["max_params"]}
