"""Tests for nasbench_lab.plots: every figure renders realistic data to a PNG, no text
falls outside the figure, legends sit outside the data, and no pyplot state is left."""
from __future__ import annotations

import base64

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from nasbench_lab import NasbenchError
from nasbench_lab import plots as P
from nasbench_lab import stats as S

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NAMES = ["random_search", "regularized_evolution", "local_search", "bohb"]


def _fake_runs(rng, n, speed, cap, budget=20000.0):
    """Incumbent-like trajectories: running max of noisy accuracies, NaN at first."""
    runs = []
    for _ in range(n):
        t = np.cumsum(rng.exponential(150, 400))
        t = t[t <= budget]
        v = np.maximum.accumulate(cap - rng.gamma(2, 2.5 / speed, t.size))
        v[:2] = np.nan
        runs.append((t, v))
    return runs


@pytest.fixture(scope="module")
def runs():
    rng = np.random.default_rng(0)
    return {n: _fake_runs(rng, 40, s, c) for n, s, c in
            zip(NAMES, (1.0, 1.6, 1.3, 2.0), (94.0, 94.2, 94.1, 94.3))}


def _check_png(path, min_w=300, min_h=200):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert w >= min_w and h >= min_h
    return w, h


def _assert_text_inside(fig: Figure, tol=0.02):
    """Nothing drawn (labels, titles, legends, annotations) extends past the figure edge."""
    fig.canvas.draw()
    tb = fig.get_tightbbox(fig.canvas.get_renderer())  # inches
    w, h = fig.get_size_inches()
    assert tb.x0 >= -tol and tb.y0 >= -tol, f"drawn outside the figure: {tb}"
    assert tb.x1 <= w + tol and tb.y1 <= h + tol, f"drawn outside the figure: {tb} vs {w}x{h}"
    # Text artists placed in axes coordinates must not overlap each other.
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
             and t.axes is not None and t in t.axes.texts]
    r = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(r) for t in texts]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (
                f"texts overlap: {texts[i].get_text()!r} and {texts[j].get_text()!r}")


def _assert_no_pyplot_figures():
    import matplotlib.pyplot as plt
    assert plt.get_fignums() == []


@pytest.mark.parametrize("method,logy", [("mean_ci", True), ("median_iqr", False)])
def test_plot_anytime_renders(runs, tmp_path, method, logy):
    grid = S.time_grid(20000, n=150, min_time=50)
    curves = {}
    for name, rs in runs.items():
        m = S.anytime_curves(rs, grid)
        if logy:
            m = S.regret(m, 94.37)
        curves[name] = S.curve_band(m, method=method)
    fig = P.plot_anytime(grid, curves, "regret (%)" if logy else "test accuracy (%)",
                         "cifar10", logy=logy, band_note="mean, 95% CI over 40 runs",
                         path=tmp_path / "sub" / "anytime.png")
    assert isinstance(fig, Figure)
    _check_png(tmp_path / "sub" / "anytime.png")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "simulated seconds"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == NAMES
    # Legend outside the data area (to the right of the axes).
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    assert ax.get_legend().get_window_extent(r).x0 >= ax.get_window_extent(r).x1
    # The x axis starts where the data starts (no empty strip).
    assert ax.get_xlim()[0] > grid[0]
    _assert_text_inside(fig)
    _assert_no_pyplot_figures()


def test_plot_anytime_linear_and_errors():
    grid = S.time_grid(100, n=20, log=False)
    c = np.linspace(50, 90, 20)
    fig = P.plot_anytime(grid, {"a": (c, c - 1, c + 1)}, "accuracy (%)", logx=False)
    assert fig.axes[0].get_xscale() == "linear"
    with pytest.raises(NasbenchError):
        P.plot_anytime(grid, {}, "y")
    with pytest.raises(NasbenchError):
        P.plot_anytime(grid, {"a": (c[:5], c[:5], c[:5])}, "y")


def test_plot_anytime_shows_single_point_curves():
    """One-shot runs have one time point each: drawn as a marker with its interval, not lost."""
    grid = np.array([0.5, 1.0, 1.0])
    c = np.array([np.nan, 85.0, np.nan])
    fig = P.plot_anytime(grid, {"rsps": (c, c - 0.5, c + 0.5)}, "accuracy (%)", logx=False)
    ax = fig.axes[0]
    assert ax.lines[0].get_marker() == "o"
    assert len(ax.collections) >= 2  # the band (empty) and the interval's vertical line
    lo, hi = ax.get_xlim()
    assert lo < 1.0 < hi
    many = P.plot_anytime(S.time_grid(100, n=20, log=False), {"a": (np.linspace(50, 90, 20),) * 3}, "y",
                          logx=False)
    assert many.axes[0].lines[0].get_marker() in (None, "None", "")


@pytest.mark.parametrize("kind", ["box", "violin"])
def test_plot_final_renders(runs, tmp_path, kind):
    finals = {n: S.final_values(r) for n, r in runs.items()}
    finals["never_valid"] = [np.nan, np.nan]  # empty after dropping NaN: still renders
    finals["single"] = [93.9]
    fig = P.plot_final(finals, "final test accuracy (%)", "cifar10", kind=kind,
                       path=tmp_path / f"final_{kind}.png")
    _check_png(tmp_path / f"final_{kind}.png")
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels[0].startswith("random_search") and "n=40" in labels[0]
    assert "n=0" in labels[4]
    _assert_text_inside(fig)
    with pytest.raises(NasbenchError):
        P.plot_final(finals, "y", kind="bar")


def test_plot_pairwise_matrix_renders(runs, tmp_path):
    finals = {n: S.final_values(r) for n, r in runs.items()}
    finals["rs_copy"] = finals["random_search"]
    recs = S.pairwise_tests(finals)
    fig = P.plot_pairwise_matrix(recs, list(finals), title="final test accuracy",
                                 path=tmp_path / "pairwise.png")
    _check_png(tmp_path / "pairwise.png")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert sum("A12=" in t for t in texts) == 5 * 4 // 2  # each pair once: the lower triangle
    assert "A12=0.50\np=1" in texts  # the identical pair
    _assert_text_inside(fig)
    # significant cells are coloured by the A12 bin, the others grey
    from matplotlib.colors import to_hex

    faces = {to_hex(p.get_facecolor()) for p in fig.axes[0].patches}
    sig = [r for r in recs if r.p_holm < 0.05]
    assert (to_hex(P.NS_COLOR) in faces) == (len(sig) < len(recs))
    assert len(faces - {to_hex(P.NS_COLOR)}) <= len(sig)
    # Records as dicts and names inferred from them work too.
    fig2 = P.plot_pairwise_matrix([r.to_dict() for r in recs])
    assert [t.get_text() for t in fig2.axes[0].get_yticklabels()] == list(finals)[1:]
    assert [t.get_text() for t in fig2.axes[0].get_xticklabels()] == list(finals)[:-1]
    with pytest.raises(NasbenchError):
        P.plot_pairwise_matrix([], ["a"])


@pytest.mark.parametrize("k,n_tables", [(2, 5), (3, 4), (7, 30), (10, 8)])
def test_plot_cd_diagram_renders(tmp_path, k, n_tables):
    rng = np.random.default_rng(k)
    names = [f"strategy_{i}" if i % 2 else f"s{i}" for i in range(k)]
    m = rng.normal(size=(n_tables, k)) + np.linspace(0, 1.5, k)
    ranks = dict(zip(names, S.average_ranks(m)))
    cd = S.nemenyi_cd(k, n_tables)
    fig = P.plot_cd_diagram(ranks, cd, title=f"Nemenyi, {n_tables} tables",
                            path=tmp_path / "cd.png")
    _check_png(tmp_path / "cd.png")
    texts = [t.get_text() for t in fig.axes[0].texts]
    for name in names:
        assert any(name in t for t in texts)
    assert any(t.startswith(f"CD = {cd:.2f}") for t in texts)
    _assert_text_inside(fig)


def test_plot_cd_diagram_group_bars():
    ranks = {"a": 1.0, "b": 1.5, "c": 2.2, "d": 3.6, "e": 3.9}
    fig = P.plot_cd_diagram(ranks, 1.25)
    thick = [ln for ln in fig.axes[0].lines if ln.get_linewidth() > 3]
    assert len(thick) == len(S.cd_groups(ranks, 1.25)) == 2
    with pytest.raises(NasbenchError):
        P.plot_cd_diagram({"a": 1.0}, 1.0)


def test_figure_to_base64_png():
    fig = P.plot_final({"a": [1.0, 2.0, 3.0], "b": [2.0, 3.0, 4.0]}, "y")
    s = P.figure_to_base64_png(fig)
    assert isinstance(s, str)
    assert base64.b64decode(s)[:8] == PNG_MAGIC


def test_backend_left_alone():
    before = matplotlib.get_backend()
    P.plot_final({"a": [1.0, 2.0]}, "y")
    assert matplotlib.get_backend() == before
