"""Figures for comparing strategies: anytime curves, final performance, pairwise tests, CD.

Every function builds a `matplotlib.figure.Figure` directly, without pyplot: no global
state, no open-figure leak, nothing is ever shown, and the global backend is left alone
(PNG rendering goes through Agg whatever backend is active). Each returns the figure
and saves it as a PNG when given `path`. `figure_to_base64_png` turns a figure into
text for embedding in an HTML report. The inputs are the outputs of `nasbench_lab.stats`.

Colors come from the Okabe-Ito palette (distinguishable with the common color-vision
deficiencies), and lines also differ by style, so figures survive grayscale printing.
"""
from __future__ import annotations

import base64
import io
import math
import os
from typing import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

from nasbench_lab import NasbenchError

__all__ = ["PALETTE", "A12_BOUNDS", "A12_COLORS", "plot_anytime", "plot_final", "plot_pairwise_matrix",
           "plot_cd_diagram",
           "figure_to_base64_png", "save_figure"]

# Okabe & Ito (2008); yellow last because it is faint on white.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000",
           "#F0E442")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)))
TIME_LABEL = "simulated seconds"

_RC = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9,
       "xtick.labelsize": 9, "ytick.labelsize": 9}


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _new_figure(figsize) -> Figure:
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)  # render with Agg, independent of the global backend
    return fig


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 150) -> None:
    """Save `fig` as a PNG (or whatever the extension says), creating parent folders."""
    path = os.fspath(path)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    fig.savefig(path, dpi=dpi, facecolor="white")


def figure_to_base64_png(fig: Figure, dpi: int = 110) -> str:
    """The figure as base64-encoded PNG bytes, for `<img src="data:image/png;base64,...">`."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plain_number(v, _pos=None) -> str:
    """Tick label without scientific notation: 0.3, 2, 1,000, 20,000."""
    if v == 0:
        return "0"
    if abs(v) >= 1:
        return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"
    return f"{v:.3g}"


def _minor_log_label(v, _pos=None) -> str:
    """Label only the 2x and 5x minor ticks of a log axis (keeps it readable)."""
    if v <= 0:
        return ""
    mant = v / 10 ** math.floor(math.log10(v) + 1e-9)
    return _plain_number(v) if round(mant, 6) in (2.0, 5.0) else ""


def _finish(fig: Figure, path) -> Figure:
    if path is not None:
        save_figure(fig, path)
    return fig


# ---------------------------------------------------------------------------------------

def plot_anytime(grid: Sequence[float],
                 curves: Mapping[str, tuple[Sequence[float], Sequence[float], Sequence[float]]],
                 ylabel: str, title: str | None = None, *, xlabel: str = TIME_LABEL,
                 logx: bool = True, logy: bool = False, band_note: str | None = None,
                 figsize=(8.0, 4.5), path=None) -> Figure:
    """Anytime plot: one line per strategy (`center`) with a shaded band (`lo`..`hi`),
    all on the common time grid from `stats.time_grid`. Lines are drawn as steps (the
    incumbent changes only when a query finishes). NaN points are left blank.

    `band_note`, e.g. "mean, 95% CI over 100 runs", is shown under the title.
    Use `logy=True` for regret (values must then be > 0 to be drawn).
    """
    x = np.asarray(grid, dtype=float)
    if not curves:
        raise NasbenchError("plot_anytime: nothing to plot")
    fig = _new_figure(figsize)
    with matplotlib.rc_context(_RC):
        ax = fig.add_subplot()
        keep = x > 0 if logx else np.ones_like(x, dtype=bool)
        any_single = False
        for i, (name, (c, lo, hi)) in enumerate(curves.items()):
            c, lo, hi = (np.asarray(a, dtype=float) for a in (c, lo, hi))
            if not (c.shape == lo.shape == hi.shape == x.shape):
                raise NasbenchError(f"plot_anytime: curve {name!r} does not match the grid")
            col = _color(i)
            ax.fill_between(x[keep], lo[keep], hi[keep], step="post", color=col, alpha=0.18,
                            linewidth=0)
            finite = np.flatnonzero(np.isfinite(c[keep]))
            single = finite.size == 1  # one time point (one-shot runs): a marker and its interval
            ax.plot(x[keep], c[keep], drawstyle="steps-post", color=col,
                    linestyle=LINESTYLES[i % len(LINESTYLES)], linewidth=1.8, label=name,
                    marker="o" if single else None)
            if single:
                any_single = True
                j = finite[0]
                ax.vlines(x[keep][j], lo[keep][j], hi[keep][j], color=col, alpha=0.5, linewidth=3)
        if logx:
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FuncFormatter(_plain_number))
        if logy:  # nothing positive to draw (all NaN or <= 0): a log axis would fail to draw
            drawn = np.concatenate([np.asarray(a, dtype=float)[keep] for t in curves.values() for a in t])
            logy = bool(np.any(np.isfinite(drawn) & (drawn > 0)))
        if logy:
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(_plain_number))
            ax.yaxis.set_minor_formatter(FuncFormatter(_minor_log_label))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        # Start the x axis where the first curve starts (no empty strip on the left).
        has = np.zeros_like(x, dtype=bool)
        for c, _, _ in curves.values():
            has |= np.isfinite(np.asarray(c, dtype=float))
        has &= keep
        if has.any():
            first = np.flatnonzero(has)[0]
            start = x[max(first - 1, 0)] if first > 0 else x[first]
            if x[keep][-1] > start and not any_single:  # single points: matplotlib's limits (margins)
                ax.set_xlim(start, x[keep][-1])
        ax.grid(True, which="major", alpha=0.3)
        if logx:
            ax.grid(True, which="minor", axis="x", alpha=0.1)
        full_title = title or ""
        if band_note:
            full_title = f"{full_title}\n{band_note}" if full_title else band_note
        if full_title:
            ax.set_title(full_title)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
                  title="strategy", alignment="left")
    return _finish(fig, path)


def plot_final(samples: Mapping[str, Sequence[float]], ylabel: str,
               title: str | None = None, *, kind: str = "box", points: bool = True,
               figsize=None, path=None) -> Figure:
    """Final performance per strategy: box plots (or violins, `kind="violin"`) with the
    individual runs drawn as jittered points. NaNs are dropped; the x labels give n."""
    if kind not in ("box", "violin"):
        raise NasbenchError(f"plot_final: kind must be 'box' or 'violin', got {kind!r}")
    if not samples:
        raise NasbenchError("plot_final: nothing to plot")
    names = list(samples)
    data = []
    for n in names:
        v = np.asarray(samples[n], dtype=float).ravel()
        data.append(v[~np.isnan(v)])
    k = len(names)
    longest = max(len(n) for n in names)
    rotate = k * max(longest, 8) > 60
    if figsize is None:
        figsize = (max(4.5, min(14.0, 1.1 * k + 2.0)), 4.8 if rotate else 4.2)
    fig = _new_figure(figsize)
    with matplotlib.rc_context(_RC):
        ax = fig.add_subplot()
        pos = np.arange(1, k + 1)
        nonempty = [i for i in range(k) if data[i].size]
        if kind == "box":
            bp = ax.boxplot([data[i] for i in nonempty], positions=pos[nonempty], widths=0.55,
                            showfliers=not points, patch_artist=True,
                            medianprops=dict(color="black", linewidth=1.6),
                            whiskerprops=dict(color="0.3"), capprops=dict(color="0.3"))
            for j, patch in zip(nonempty, bp["boxes"]):
                patch.set_facecolor(_color(j))
                patch.set_alpha(0.35)
                patch.set_edgecolor("0.2")
        else:
            vp = ax.violinplot([data[i] for i in nonempty if data[i].size > 1] or [[0.0]],
                               positions=[pos[i] for i in nonempty if data[i].size > 1]
                               or [0], widths=0.75, showmedians=True, showextrema=False)
            multi = [i for i in nonempty if data[i].size > 1]
            for j, body in zip(multi, vp["bodies"]):
                body.set_facecolor(_color(j))
                body.set_edgecolor("0.2")
                body.set_alpha(0.35)
            vp["cmedians"].set_color("black")
        if points:
            rng = np.random.default_rng(0)  # deterministic jitter
            for i in nonempty:
                jitter = rng.uniform(-0.16, 0.16, data[i].size)
                size = 14 if data[i].size <= 50 else 6
                ax.scatter(pos[i] + jitter, data[i], s=size, color=_color(i), alpha=0.6,
                           edgecolors="none", zorder=3)
        ax.set_xticks(pos)
        ax.set_xticklabels([f"{n}\n(n={d.size})" if not rotate else f"{n} (n={d.size})"
                            for n, d in zip(names, data)],
                           rotation=30 if rotate else 0, ha="right" if rotate else "center")
        ax.set_xlim(0.4, k + 0.6)
        ax.set_ylabel(ylabel)
        ax.grid(True, axis="y", alpha=0.3)
        if title:
            ax.set_title(title)
    return _finish(fig, path)


def _p_label(p: float, pmin: float) -> str:
    if p < pmin:
        return f"p<{pmin:.0e}".replace("e-0", "e-")
    if p >= 1:
        return "p=1"
    return f"p={p:.3f}" if p >= 0.001 else f"p={p:.0e}".replace("e-0", "e-")


def _records_get(rec, key):
    return rec[key] if isinstance(rec, Mapping) else getattr(rec, key)


#: A12 bins of Vargha & Delaney (2000): large/medium/small/negligible/small/medium/large
A12_BOUNDS = (0.0, 0.29, 0.36, 0.44, 0.56, 0.64, 0.71, 1.0)
#: PuOr-like colours for the bins (purple: the row's runs end higher; orange: the column's),
#: the middle bin (negligible effect) pale; non-significant cells are drawn without colour.
A12_COLORS = ("#542788", "#8073ac", "#b2abd2", "#f7f7f7", "#fdb863", "#e08214", "#b35806")
NS_COLOR = "#ececec"


def _a12_color(a12: float) -> str:
    """The colour of A12's Vargha-Delaney bin, by `stats.a12_magnitude` (the report's label)."""
    from nasbench_lab.stats import a12_magnitude

    i = {"negligible": 3, "small": 4, "medium": 5, "large": 6}[a12_magnitude(a12)]
    return A12_COLORS[6 - i if a12 < 0.5 else i]


def plot_pairwise_matrix(records, names: Sequence[str] | None = None, *, alpha: float = 0.05,
                         title: str | None = None, figsize=None, path=None) -> Figure:
    """Effect size and significance of `stats.pairwise_tests` records (dataclasses or their
    dicts) in one lower-triangular heatmap, each pair once.

    Rows and columns follow `names` (pass the ranking, best first). Cell (row i, column j),
    i > j, shows A12(column, row) = P(the column strategy's run > the row strategy's run)
    and the Holm-adjusted p-value. Only significant cells (p_holm < alpha) are coloured, by
    the Vargha-Delaney bin of A12 (darker = larger effect); the others are grey, so what
    stands out is what the tests found."""
    if names is None:
        names = []
        for r in records:
            for key in ("a", "b"):
                if _records_get(r, key) not in names:
                    names.append(_records_get(r, key))
    names = list(names)
    k = len(names)
    if k < 2:
        raise NasbenchError("plot_pairwise_matrix: need at least 2 strategies")
    idx = {n: i for i, n in enumerate(names)}
    p = np.full((k, k), np.nan)
    a12 = np.full((k, k), np.nan)  # a12[i, j] = A12(names[i], names[j])
    for r in records:
        a, b = _records_get(r, "a"), _records_get(r, "b")
        if a not in idx or b not in idx:
            continue
        i, j = idx[a], idx[b]
        ph, v = _records_get(r, "p_holm"), _records_get(r, "a12")  # None: a side without final values
        p[i, j] = p[j, i] = np.nan if ph is None else ph
        v = np.nan if v is None else v
        a12[i, j], a12[j, i] = v, 1.0 - v
    longest = max(len(n) for n in names)
    if figsize is None:
        side = max(2.6, 0.95 * (k - 1)) + 0.07 * longest
        figsize = (side + 2.2, side + 0.9)
    from matplotlib.colors import BoundaryNorm, ListedColormap

    from nasbench_lab.stats import format_a12

    cmap = ListedColormap(A12_COLORS)
    norm = BoundaryNorm(A12_BOUNDS, cmap.N)
    fig = _new_figure(figsize)
    with matplotlib.rc_context(_RC):
        ax = fig.add_subplot()
        rows, cols = names[1:], names[:-1]
        fs = 9 if k <= 6 else (8 if k <= 9 else 7)
        for ri, rn in enumerate(rows):
            for ci, cn in enumerate(cols):
                i, j = idx[rn], idx[cn]
                if j >= i:
                    continue
                pv, v = p[i, j], a12[j, i]  # A12(column, row)
                sig = not np.isnan(pv) and pv < alpha
                face = _a12_color(v) if sig and not np.isnan(v) else NS_COLOR
                ax.add_patch(Rectangle((ci - 0.5, ri - 0.5), 1, 1, facecolor=face,
                                       edgecolor="white", linewidth=1.5))
                if np.isnan(pv) or np.isnan(v):
                    ax.text(ci, ri, "n/a", ha="center", va="center", color="0.45", fontsize=fs)
                    continue
                rgb = matplotlib.colors.to_rgb(face)
                lum = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) if sig else 1.0
                ax.text(ci, ri, f"A12={format_a12(v)}\n{_p_label(pv, 1e-99)}", ha="center", va="center",
                        fontsize=fs, color=("black" if lum > 0.5 else "white") if sig else "0.4",
                        fontweight="bold" if sig else "normal")
        ax.set_xlim(-0.5, k - 1.5)
        ax.set_ylim(k - 1.5, -0.5)
        ax.set_aspect("equal")
        ax.set_xticks(range(k - 1))
        ax.set_yticks(range(k - 1))
        rot = 30 if longest > 6 else 0
        ax.set_xticklabels(cols, rotation=rot, ha="right" if rot else "center")
        ax.set_yticklabels(rows)
        ax.xaxis.tick_top()
        if rot:
            ax.set_xticklabels(cols, rotation=rot, ha="left")
        for side in ("right", "bottom", "left", "top"):
            ax.spines[side].set_visible(False)
        ax.tick_params(length=0)
        sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
        cb = fig.colorbar(sm, ax=ax, shrink=0.85, ticks=A12_BOUNDS, spacing="uniform")
        cb.set_label("A12(column, row), significant pairs only\n"
                     "large / medium / small / negligible / small / medium / large", fontsize=8)
        cb.ax.tick_params(labelsize=8)
        ax.set_title((title + "\n" if title else "")
                     + f"A12 = P(column's run > row's run); grey: not significant (Holm p >= {alpha:g})",
                     fontsize=9)
    return _finish(fig, path)


def plot_cd_diagram(avg_ranks: Mapping[str, float], cd: float, *, title: str | None = None,
                    groups: Sequence[Sequence[str]] | None = None, figsize=None,
                    path=None) -> Figure:
    """Critical-difference diagram (Demsar 2006): an axis of average ranks (1 = best, on
    the left), each strategy joined to its rank with its name on the left (better half)
    or right (worse half), the CD as a scale bar above, and thick bars joining groups of
    strategies that are not significantly different (`stats.cd_groups` by default)."""
    from nasbench_lab.stats import cd_groups  # the one definition of "a group"

    items = sorted(avg_ranks.items(), key=lambda kv: kv[1])
    k = len(items)
    if k < 2:
        raise NasbenchError("plot_cd_diagram: need at least 2 strategies")
    names = [n for n, _ in items]
    ranks = np.array([r for _, r in items], dtype=float)
    if groups is None:
        groups = cd_groups(dict(items), cd)
    pos = {n: i for i, n in enumerate(names)}
    spans = sorted(((ranks[pos[g[0]]], ranks[pos[g[-1]]]) for g in groups if len(g) > 1))
    # Greedily stack overlapping group bars in rows.
    bar_rows: list[list[tuple[float, float]]] = []
    placed = []
    for lo, hi in spans:
        for r, row in enumerate(bar_rows):
            if all(hi < a - 0.05 or lo > b + 0.05 for a, b in row):
                row.append((lo, hi))
                placed.append((r, lo, hi))
                break
        else:
            bar_rows.append([(lo, hi)])
            placed.append((len(bar_rows) - 1, lo, hi))

    half = (k + 1) // 2
    left, right = names[:half], names[half:][::-1]  # right side: worst at the top
    n_text_rows = max(len(left), len(right))
    lowv, highv = 1.0, float(max(k, math.ceil(ranks.max())))
    label_chars = max(len(n) for n in names) + 6
    text_in = max(1.15, 0.075 * label_chars + 0.35)  # inches of text on each side
    axis_in = max(3.5, 0.9 * (highv - lowv))           # inches for the rank axis
    # Vertical layout in inches from the top (y = 0) downwards.
    y_axis = -(0.75 + (0.3 if title else 0.0))
    y_bar0 = y_axis - 0.18
    y_text0 = y_bar0 - 0.2 * max(len(bar_rows) - 1, 0) - 0.3
    height = -(y_text0 - 0.32 * (n_text_rows - 1)) + 0.25
    extra_in = max(0.0, lowv + cd - highv) / ((highv - lowv) / axis_in)  # CD past the axis
    if figsize is None:
        figsize = (axis_in + 2 * text_in + extra_in, height)
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    w_in, h_in = figsize
    with matplotlib.rc_context(_RC):
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        per_in = (highv - lowv) / axis_in      # rank units per inch
        x0 = lowv - text_in * per_in
        x1 = x0 + w_in * per_in               # keeps 1 inch = per_in rank units
        ax.set_xlim(x0, x1)
        ax.set_ylim(-h_in, 0)
        if title:
            ax.text((x0 + x1) / 2, -0.12, title, ha="center", va="top", fontsize=11)
        # Rank axis with ticks and labels above.
        ax.plot([lowv, highv], [y_axis, y_axis], color="black", linewidth=1.2)
        for t in np.arange(lowv, highv + 1e-9, 0.5):
            major = float(t).is_integer()
            ax.plot([t, t], [y_axis, y_axis + (0.1 if major else 0.05)], color="black",
                    linewidth=1.0)
            if major:
                ax.text(t, y_axis + 0.14, f"{int(t)}", ha="center", va="bottom", fontsize=9)
        # CD scale bar, top left.
        y_cd = y_axis + 0.45
        ax.plot([lowv, lowv + cd], [y_cd, y_cd], color="black", linewidth=1.2)
        for xx in (lowv, lowv + cd):
            ax.plot([xx, xx], [y_cd - 0.05, y_cd + 0.05], color="black", linewidth=1.2)
        if lowv + cd <= highv:
            ax.text(lowv + cd + 0.1 * per_in, y_cd, f"CD = {cd:.2f}", ha="left",
                    va="center", fontsize=9)
        else:  # a CD longer than the axis: label above the bar, inside the figure
            ax.text(lowv, y_cd + 0.08, f"CD = {cd:.2f} (longer than the rank axis)",
                    ha="left", va="bottom", fontsize=9)
        ax.text(lowv - 0.25 * per_in, y_axis + 0.14, "average rank\n(1 = best)", ha="right",
                va="bottom", fontsize=8, color="0.35", linespacing=1.0)
        # Group bars just under the axis.
        for r, lo, hi in placed:
            y = y_bar0 - 0.2 * r
            ax.plot([lo - 0.03, hi + 0.03], [y, y], color="black", linewidth=3.5,
                    solid_capstyle="round", zorder=4)
        for side, lst in (("left", left), ("right", right)):
            for i, n in enumerate(lst):
                r = ranks[pos[n]]
                y = y_text0 - 0.32 * i
                x_end = lowv - 0.15 * per_in if side == "left" else highv + 0.15 * per_in
                ax.plot([r, r, x_end], [y_axis, y, y], color="0.25", linewidth=1.0, zorder=2)
                ax.plot([r], [y_axis], marker="o", markersize=4, color="black", zorder=5)
                label = f"{n} ({r:.2f})" if side == "left" else f"({r:.2f}) {n}"
                ax.text(x_end + (-0.05 if side == "left" else 0.05) * per_in, y, label,
                        ha="right" if side == "left" else "left", va="center", fontsize=10)
    return _finish(fig, path)
