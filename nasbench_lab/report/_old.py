"""The comparison report: statistics recomputed from stored runs, figures, HTML and JSON.

`build_report(DIR)` reads every stored run of DIR (a `nasbench-lab compare` or `run`
output), computes everything with `nasbench_lab.stats`, draws the figures with
`nasbench_lab.plots` and writes

DIR/summary.json   every number shown in the report (machine-readable, strict JSON: NaN -> null)
DIR/report.html    one self-contained page (CSS inline, figures as base64 PNG): opens from disk

Nothing here runs a search: the report is a pure function of the stored runs plus a few
facts about each table (its content hash, schedules and oracle), which `compare` writes to
DIR/compare.json when it starts; without that file (a `run` directory) the tables are
opened from the paths in DIR/config.json and checked against the stored content hash.

Definitions used throughout (also printed in the report):
- final value of a run: the incumbent (best observed validation accuracy on the search
  schedule) when the budget ran out, reported with its report-schedule seed-mean validation
  and test accuracy;
- oracle: the architecture with the best seed-mean validation accuracy of the report
  schedule, i.e. what a search that knew the whole table would report;
- regret: oracle validation accuracy minus the incumbent's (report schedule), in percentage
  points; 0 means the search found the oracle. The oracle's test accuracy is shown next to
  the test-accuracy curves for scale.
"""
from __future__ import annotations

import datetime as _dt
import html
import json
import math
import os
import platform
from pathlib import Path

import numpy as np

from nasbench_lab import NasbenchError, __version__
from nasbench_lab import stats as st
from nasbench_lab.results import ResultStore, _atomic_write_json

COMPARE_JSON = "compare.json"
SUMMARY_JSON = "summary.json"
REPORT_HTML = "report.html"
SCHEMA = "nasbench_lab.compare-summary/1"

METRICS = ("test", "valid", "regret")
METRIC_LABEL = {"test": "test accuracy (%)", "valid": "validation accuracy (%)",
                "regret": "validation regret (pp)"}
TESTS = {"wilcoxon": "Wilcoxon signed-rank (paired by run index)",
         "mann-whitney": "Mann-Whitney U (unpaired)"}
GRID_POINTS = 200
LEVEL = 0.95
N_BOOT = 4000


# ---------------------------------------------------------------------------------------
# Table facts and the compare manifest
# ---------------------------------------------------------------------------------------

def table_facts(table, search_schedule=None, report_schedule=None) -> dict:
    """What the report needs to know about a table: identity, schedules, oracle."""
    search = table.schedule(search_schedule)
    report = table.schedule(report_schedule if report_schedule is not None else search.name)
    idx = np.arange(table.n_archs)
    valid = np.asarray(table.lookup("valid_acc", idx, report.name), dtype=float)
    test = (np.asarray(table.lookup("test_acc", idx, report.name), dtype=float)
            if "test_acc" in report.metrics else np.full(table.n_archs, np.nan))
    if not np.isfinite(valid).any():
        raise NasbenchError(f"table {table.name!r}: no validation accuracy in schedule {report.name!r}")
    best = int(np.nanargmax(valid))
    return {
        "name": table.name, "path": str(table.path), "content_hash": table.content_hash,
        "dataset": table.dataset, "space": table.space.name, "n_archs": int(table.n_archs),
        "search_schedule": search.name, "search_epochs": int(search.epochs),
        "report_schedule": report.name, "report_epochs": int(report.epochs),
        "search_seeds": list(search.seeds), "report_seeds": list(report.seeds),
        "search_present_share": float(table.present(search.name).mean()),
        "protocol": report.protocol or search.protocol or {},
        "oracle": {"index": best, "arch": table.space.to_string(table.space.from_index(best)),
                   "valid": _num(valid[best]), "test": _num(test[best])},
        "best_test": _num(np.nanmax(test)) if np.isfinite(test).any() else None,
    }


def _present_note(share) -> str:
    """A warning when the table lacks some (arch, seed) entries (missing seeds, a partial build)."""
    if share is None or share >= 1:
        return ""
    return (f" among the trained ones <span class='muted'>(only {100 * share:.0f}% of the (architecture, "
            "seed) entries are present: missing seeds are never drawn)</span>")


def write_manifest(out_dir, manifest: dict) -> None:
    """DIR/compare.json: the command and settings of the latest compare into DIR."""
    _atomic_write_json(Path(out_dir) / COMPARE_JSON, _jsonable(manifest))


def _load_manifest(store: ResultStore) -> dict:
    p = store.dir / COMPARE_JSON
    if p.is_file():
        try:
            m = json.loads(p.read_text())
        except (OSError, ValueError) as e:
            raise NasbenchError(f"{p} is unreadable ({e}); rerun the compare command") from None
    else:
        m = {}
    cfg = store.config
    tables = m.get("tables") or [t for t in cfg.get("tables", {}) if t in store.tables()] \
        or list(cfg.get("tables", {}))
    strategies = m.get("strategies") or list(cfg.get("strategies", {}))
    facts = dict(m.get("table_facts") or {})
    for name in tables:
        if name in facts:
            continue
        info = cfg.get("tables", {}).get(name, {})
        path = info.get("path")
        from nasbench_lab.tables.table import Table

        if not path or not os.path.exists(path):
            raise NasbenchError(f"{store.dir} has no {COMPARE_JSON} and table {name!r} is no longer at "
                                f"{path}; rerun the compare command to rewrite it")
        with Table(path) as t:
            if info.get("content_hash") and t.content_hash != info["content_hash"]:
                raise NasbenchError(f"table {path} changed since the runs were made (content hash "
                                    f"{t.content_hash[:12]} != {info['content_hash'][:12]})")
            facts[name] = table_facts(t, cfg.get("search_schedule"), cfg.get("report_schedule"))
    if not m.get("runs"):
        counts = [len(list((store.dir / "runs" / t / s).glob("run-*.json")))
                  for t in tables for s in strategies]
        m["runs"] = max(counts) if counts else 0
    m.update(tables=tables, strategies=strategies, table_facts=facts)
    m.setdefault("command", None)
    m.setdefault("metric", "test")
    m.setdefault("test", "wilcoxon")
    m.setdefault("alpha", 0.05)
    return m


# ---------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------

def _num(x):
    """A float for JSON: NaN/inf -> None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _jsonable(o):
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, (np.floating, float)):
        return _num(o)
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.ndarray):
        return _jsonable(o.tolist())
    if isinstance(o, np.bool_):
        return bool(o)
    return o


def final_samples(records, oracle_valid: float) -> dict[str, dict[int, float]]:
    """{metric: {run index: final value}} for test, valid and regret."""
    out = {m: {} for m in METRICS}
    for r in records:
        run = int(r.meta["run"])
        f = r.final
        out["test"][run] = float(f["test"])
        out["valid"][run] = float(f["valid"])
        out["regret"][run] = float(oracle_valid) - float(f["valid"])
    return out


def _grid(records_by_strategy, budget_seconds, budget_queries):
    """(x axis kind, grid) for one table: simulated time from the earliest first query to
    the budget, or the query number when the budget is a number of queries only."""
    if budget_seconds is not None:
        firsts = [r.time[0] for recs in records_by_strategy.values() for r in recs if r.time]
        lo = min(firsts) if firsts else 0.0
        hi = float(budget_seconds)
        if not (0 < lo < hi):
            lo = hi / 1000.0
        return "time", st.time_grid(hi, GRID_POINTS, log=True, min_time=lo)
    q = int(budget_queries or max((r.n_queries for recs in records_by_strategy.values()
                                   for r in recs), default=1))
    grid = np.unique(np.round(np.geomspace(1, max(q, 1), min(max(q, 1), GRID_POINTS))))
    return "queries", grid.astype(float)


def _trajectories(records, kind: str, values: str, oracle_valid: float):
    out = []
    for r in records:
        x = np.asarray(r.time, dtype=float) if kind == "time" else np.arange(1, r.n_queries + 1, dtype=float)
        if values == "regret":
            v = oracle_valid - np.asarray(r.incumbent_valid, dtype=float)
        elif values == "test":
            v = np.asarray(r.incumbent_test, dtype=float)
        else:
            v = np.asarray(r.incumbent_valid, dtype=float)
        out.append((x, v))
    return out


def analyze(out_dir, *, metric: str | None = None, test: str | None = None,
            alpha: float | None = None, runs: int | None = None) -> tuple[dict, dict]:
    """Recompute every statistic of the report from the stored runs of `out_dir`.

    Returns (summary, curves): `summary` is what goes to summary.json; `curves` holds the
    arrays needed for the figures (also included in summary under "anytime")."""
    store = ResultStore(out_dir)
    man = _load_manifest(store)
    metric = metric or man["metric"]
    test = test or man["test"]
    alpha = float(man["alpha"] if alpha is None else alpha)
    if metric not in ("test", "valid"):
        raise NasbenchError(f"--metric must be 'test' or 'valid', got {metric!r}")
    if test not in TESTS:
        raise NasbenchError(f"--test must be one of {', '.join(TESTS)}, got {test!r}")
    if not 0 < alpha < 1:
        raise NasbenchError(f"--alpha must be in (0, 1), got {alpha}")
    runs = int(runs or man["runs"])
    cfg = store.config
    seed = int(cfg.get("seed", 0))
    strategies = list(man["strategies"])
    tables = list(man["tables"])
    bs, bq = cfg.get("budget_seconds"), cfg.get("budget_queries")
    higher = True  # test/valid accuracy
    paired = test == "wilcoxon"

    per_table = {}
    curves = {}
    verdicts = []
    for tname in tables:
        facts = man["table_facts"][tname]
        oracle_valid = facts["oracle"]["valid"]
        recs = {s: store.load(tname, s, runs) for s in strategies}
        kind, grid = _grid(recs, bs, bq)
        any_curves = {}
        for values in ("regret", "test"):
            bands = {}
            for s in strategies:
                mat = st.anytime_curves(_trajectories(recs[s], kind, values, oracle_valid), grid)
                c, lo, hi = st.curve_band(mat, level=LEVEL, method="mean_ci")
                bands[s] = {"mean": c, "ci_low": lo, "ci_high": hi}
            any_curves[values] = bands
        curves[tname] = {"x": kind, "grid": grid, **any_curves}
        samples = {s: final_samples(recs[s], oracle_valid) for s in strategies}
        curves[tname]["final_samples"] = {s: {m: [v for _, v in sorted(samples[s][m].items())] for m in METRICS}
                                          for s in strategies}
        final = {}
        for m in METRICS:
            tab = st.summary_table({s: [samples[s][m][k] for k in sorted(samples[s][m])] for s in strategies},
                                   level=LEVEL, n_boot=N_BOOT, rng=seed)
            for s in strategies:
                final.setdefault(s, {})[m] = tab[s]
        for s in strategies:
            rr = recs[s]
            final[s]["runs"] = len(rr)
            final[s]["queries_mean"] = float(np.mean([r.n_queries for r in rr])) if rr else None
            final[s]["sim_seconds_mean"] = float(np.mean([r.final["time"] for r in rr])) if rr else None
            final[s]["found_oracle"] = (sum(1 for r in rr if r.final["arch"] == facts["oracle"]["index"])
                                        / len(rr)) if rr else None
            final[s]["wall_seconds_per_run"] = (float(np.mean([r.meta.get("wall_seconds", 0.0) for r in rr]))
                                                if rr else None)
        pairs = []
        if len(strategies) >= 2:
            data = {s: (samples[s][metric] if paired else [samples[s][metric][k] for k in sorted(samples[s][metric])])
                    for s in strategies}
            res = st.pairwise_tests(data, paired=paired, alpha=alpha, higher_is_better=higher)
            for r in res:
                d = r.to_dict()
                d["plain"] = verdict_line(tname, r, final, metric, paired, alpha)
                pairs.append(d)
                verdicts.append(d["plain"])
        ranking = sorted(strategies, key=lambda s: -(final[s][metric]["mean"]
                                                     if final[s][metric]["n"] else -math.inf))
        per_table[tname] = {"facts": facts, "x_axis": kind, "final": final, "pairwise": pairs,
                            "ranking": ranking, "per_run": samples}

    across = None
    if len(tables) >= 2 and len(strategies) >= 2:
        across = across_tables(per_table, tables, strategies, metric, alpha)
        verdicts.append(across["plain"])

    summary = {
        "schema": SCHEMA,
        "setup": {
            "command": man.get("command"), "out": str(store.dir.resolve()),
            "tables": {t: man["table_facts"][t] for t in tables}, "strategies": {
                s: cfg.get("strategies", {}).get(s, {}) for s in strategies},
            "runs": runs, "seed": seed, "budget_seconds": bs, "budget_queries": bq,
            "search_schedule": cfg.get("search_schedule"), "report_schedule": cfg.get("report_schedule"),
            "metric": metric, "test": test, "test_name": TESTS[test], "alpha": alpha,
            "confidence_level": LEVEL, "bootstrap": f"BCa, {N_BOOT} resamples, seed {seed}",
            "curve_band": f"mean and Student-t {LEVEL:.0%} CI over runs",
            "software_version": __version__, "results_software_version": cfg.get("software_version"),
            "python": platform.python_version(),
        },
        "tables": per_table,
        "across_tables": across,
        "verdicts": verdicts,
        "anytime": {t: {"x": c["x"], "grid": c["grid"], "regret": c["regret"], "test": c["test"]}
                    for t, c in curves.items()},
        "timing": {"generated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                   "compare_wall_seconds": man.get("wall_seconds")},
    }
    return _jsonable(summary), curves


def _fmt(x, nd=2) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def _fmt_p(p) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    if p == 0:
        return "< 1e-300"
    return f"{p:.1e}" if p < 0.001 else f"{p:.3g}"


def _p_eq(p) -> str:
    """'= 0.003' or '< 1e-16', to follow a 'p'."""
    t = _fmt_p(p)
    return t if t.startswith("<") else f"= {t}"


def _a(name: str) -> str:
    """The indefinite article for a strategy name ("an optuna run", "a rea run")."""
    return "an" if name[:1].lower() in "aeiou" else "a"


def verdict_line(table: str, r: st.PairwiseResult, final: dict, metric: str, paired: bool,
                 alpha: float) -> str:
    """One plain-language sentence for a pair of strategies on one table."""
    word = "test" if metric == "test" else "validation"
    ma, mb = final[r.a][metric]["median"], final[r.b][metric]["median"]
    how = (f"Wilcoxon signed-rank on {r.n_a} paired runs" if paired
           else f"Mann-Whitney U on {r.n_a} vs {r.n_b} runs")
    if r.p != r.p:  # NaN
        return f"{table}: not enough runs to compare {r.a} and {r.b}."
    if r.winner is None:
        return (f"{table}: no significant difference between {r.a} and {r.b} "
                f"(median final {word} accuracy {_fmt(ma)}% vs {_fmt(mb)}%; {_a(r.a)} {r.a} run beats {_a(r.b)} {r.b} run "
                f"{r.a12:.0%} of the time, A12 = {r.a12:.2f}, {r.magnitude}; {how}, Holm-adjusted "
                f"p {_p_eq(r.p_holm)} >= {alpha:g}).")
    w, l_ = (r.a, r.b) if r.winner == r.a else (r.b, r.a)
    a_win = r.a12 if r.winner == r.a else 1.0 - r.a12
    mw, ml = final[w][metric]["median"], final[l_][metric]["median"]
    return (f"{table}: {w} beats {l_} (median final {word} accuracy {_fmt(mw)}% vs {_fmt(ml)}%; "
            f"{_a(w)} {w} run beats {_a(l_)} {l_} run {a_win:.0%} of the time, A12 = {a_win:.2f}, {r.magnitude} effect; "
            f"{how}, Holm-adjusted p {_p_eq(r.p_holm)}).")


def across_tables(per_table: dict, tables, strategies, metric: str, alpha: float) -> dict:
    """Average ranks (by mean final metric per table), Friedman and Nemenyi CD."""
    mat = np.array([[per_table[t]["final"][s][metric]["mean"] for s in strategies] for t in tables],
                   dtype=float)
    k, n = len(strategies), len(tables)
    out = {"metric": metric, "matrix": {t: {s: mat[i, j] for j, s in enumerate(strategies)}
                                        for i, t in enumerate(tables)}}
    if np.isnan(mat).any():
        out.update(avg_ranks=None, friedman=None, cd=None, groups=[],
                   plain=f"Across {n} tables: not every strategy has runs on every table; no ranking.")
        return out
    ranks = st.average_ranks(mat, higher_is_better=True)
    out["avg_ranks"] = {s: float(r) for s, r in zip(strategies, ranks)}
    cd = st.nemenyi_cd(k, n, alpha)
    out["cd"] = cd
    out["groups"] = [list(g) for g in st.cd_groups(out["avg_ranks"], cd)]
    order = sorted(strategies, key=lambda s: out["avg_ranks"][s])
    apart = [(a, b) for i, a in enumerate(order) for b in order[i + 1:]
             if out["avg_ranks"][b] - out["avg_ranks"][a] >= cd]
    out["significant_pairs"] = [list(p) for p in apart]
    nem = ("; ".join(f"{a} ranks significantly better than {b}" for a, b in apart) if apart
           else "no pair's average ranks differ by that much")
    rank_txt = ", ".join(f"{s} {out['avg_ranks'][s]:.2f}" for s in order)
    if k >= 3:
        f = st.friedman(mat, higher_is_better=True)
        out["friedman"] = {"chi2": f.statistic, "p": f.pvalue, "iman_davenport_F": f.iman_davenport,
                           "iman_davenport_p": f.iman_davenport_pvalue, "k": f.k, "n": f.n}
        # Iman-Davenport's F is infinite when every table ranks the strategies identically; its
        # p = 0 then overstates the evidence of a few tables, so fall back to the chi-square p.
        if math.isfinite(f.iman_davenport):
            p_used, which, why = f.iman_davenport_pvalue, "Iman-Davenport", ""
        else:
            p_used, which, why = f.pvalue, "chi-square", "; every table ranks them alike"
        out["friedman"]["p_used"] = p_used
        sig = p_used < alpha
        tail = (f"the Friedman test finds the ranks differ ({which} p {_p_eq(p_used)}{why}); "
                f"Nemenyi critical difference CD = {cd:.2f}: {nem}"
                if sig else
                f"the Friedman test finds no significant difference among the ranks "
                f"({which} p {_p_eq(p_used)} >= {alpha:g}{why})")
    else:
        out["friedman"] = None
        tail = (f"with only {k} strategies the Friedman test does not apply; Nemenyi critical difference "
                f"CD = {cd:.2f}: {nem}")
    out["plain"] = f"Across {n} tables (average rank by mean final {metric} accuracy, 1 = best): {rank_txt}; {tail}."
    return out


# ---------------------------------------------------------------------------------------
# Figures and HTML
# ---------------------------------------------------------------------------------------

def make_figures(summary: dict, curves: dict) -> dict:
    """{key: base64 PNG} for every figure of the report."""
    from nasbench_lab import plots

    figs = {}
    setup = summary["setup"]
    strategies = list(setup["strategies"])
    for tname, tab in summary["tables"].items():
        c = curves[tname]
        n_runs = min(tab["final"][s]["runs"] for s in strategies)
        xlabel = plots.TIME_LABEL if c["x"] == "time" else "queries"
        note = f"mean and {LEVEL:.0%} CI over {n_runs} runs per strategy"
        reg = {s: (c["regret"][s]["mean"], c["regret"][s]["ci_low"], c["regret"][s]["ci_high"])
               for s in strategies}
        centers = np.concatenate([np.asarray(v[0], dtype=float) for v in reg.values()])
        if not np.isfinite(centers).any():  # no run made a query within the budget
            continue
        logy = bool(np.nanmin(centers) > 0)
        facts = tab["facts"]
        fig = plots.plot_anytime(c["grid"], reg,
                                 "regret (pp" + (", log scale)" if logy else ")"),
                                 f"{tname}: validation regret = oracle's {_fmt(facts['oracle']['valid'])}% "
                                 f"- incumbent's ({facts['report_epochs']} epochs)",
                                 xlabel=xlabel, logy=logy, band_note=note)
        _label_minor_x(fig)
        figs[f"anytime_regret/{tname}"] = plots.figure_to_base64_png(fig)
        tst = {s: (c["test"][s]["mean"], c["test"][s]["ci_low"], c["test"][s]["ci_high"])
               for s in strategies}
        fig = plots.plot_anytime(c["grid"], tst, "incumbent's test accuracy (%)",
                                 f"{tname}: test accuracy of the incumbent ({facts['report_epochs']} epochs)",
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
            fig = plots.plot_pairwise_matrix(tab["pairwise"], strategies, alpha=setup["alpha"],
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


_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:1180px;margin:1.5em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
h3{margin-top:1.4em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.best td{background:#eef6ee}
.verdicts li{margin:.3em 0}.win{color:#0a6b2c;font-weight:600}.tie{color:#555}
img{max-width:100%;height:auto;border:1px solid #eee;margin:.4em 0}
.figrow{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}
.arch{font-family:monospace;font-size:.85em;word-break:break-all;color:#555}
.note{color:#555;font-size:.9em}code{background:#f5f5f5;padding:0 .25em;border-radius:3px;word-break:break-all}
.muted{color:#777}
"""


def _e(x) -> str:
    return html.escape(str(x))


def _img(b64: str, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{b64}">'


def render_html(summary: dict, figs: dict) -> str:
    setup = summary["setup"]
    strategies = list(setup["strategies"])
    tables = list(summary["tables"])
    metric = setup["metric"]
    word = "test" if metric == "test" else "validation"
    h = []
    add = h.append
    add("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>")
    add(f"<title>nasbench-lab compare: {_e(', '.join(strategies))} on {_e(', '.join(tables))}</title>")
    add(f"<style>{_CSS}</style></head><body>")
    add(f"<h1>Comparison of {_e(', '.join(strategies))} on {_e(', '.join(tables))}</h1>")
    add(f"<p class='note'>nasbench_lab {_e(setup['software_version'])} &middot; generated "
        f"{_e(summary['timing']['generated'])} from the runs stored in <code>{_e(setup['out'])}</code>. "
        f"Regenerate with <code>nasbench-lab report {_e(setup['out'])}</code>.</p>")

    nav = [("verdict", "Verdict"), ("setup", "Setup")] + [(f"table-{t}", t) for t in tables]
    if summary.get("across_tables"):
        nav.append(("across", "Across tables"))
    nav.append(("definitions", "Definitions"))
    add("<p class='note'>" + " &middot; ".join(f"<a href='#{_e(a)}'>{_e(n)}</a>" for a, n in nav) + "</p>")
    add("<h2 id='verdict'>Verdict</h2><ul class='verdicts'>")
    for v in summary["verdicts"]:
        cls = "tie" if ("no significant" in v or "not enough" in v or "no ranking" in v) else "win"
        add(f"<li class='{cls}'>{_e(v)}</li>")
    if not summary["verdicts"]:
        add("<li class='tie'>Only one strategy: nothing to compare.</li>")
    add("</ul>")
    add(f"<p class='note'>Each pair is compared on the final {word} accuracy of the reported incumbent "
        f"with a two-sided {_e(setup['test_name'])} test; p-values are Holm-adjusted over all pairs of a "
        f"table; significant means adjusted p &lt; {setup['alpha']:g}. A12 is the probability that a run of "
        "one strategy ends with a higher value than a run of the other (0.5 = no effect; 0.56/0.64/0.71 "
        "mark small/medium/large effects).</p>")

    # --- setup
    add("<h2 id='setup'>Setup</h2><table>")
    cmd = setup.get("command")
    rows = [
        ("command line", f"<code>{_e(cmd)}</code>" if cmd else "<span class='muted'>(not recorded)</span>"),
        ("strategies", "<br>".join(f"{_e(s)} <span class='muted'>"
                                   f"{_e(', '.join(f'{k}={v}' for k, v in p.items()) or 'no parameters')}</span>"
                                   for s, p in setup["strategies"].items())),
        ("runs per strategy and table", _e(setup["runs"])),
        ("seed", f"{_e(setup['seed'])} <span class='muted'>(run i of every strategy sees the same "
                 "table noise, so runs are paired by index)</span>"),
        ("budget per run", _e(_budget_text(setup))),
        ("statistics", f"final-value CI: {_e(setup['bootstrap'])}, {setup['confidence_level']:.0%}; "
                       f"curves: {_e(setup['curve_band'])}; pairwise: {_e(setup['test_name'])}, Holm, "
                       f"alpha = {setup['alpha']:g}"),
        ("software", f"nasbench_lab {_e(setup['software_version'])} (runs made with "
                     f"{_e(setup['results_software_version'])}), Python {_e(setup['python'])}"),
    ]
    for k, v in rows:
        add(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>")
    add("</table>")
    add("<table><tr><th>table</th>" + "".join(f"<th>{_e(t)}</th>" for t in tables) + "</tr>")
    facts = [summary["tables"][t]["facts"] for t in tables]

    def seeds(xs):
        if isinstance(xs, int):
            return f"{xs} seed{'s' if xs != 1 else ''}"
        return ("seed means (one value per architecture)" if list(xs) == ["mean"]
                else f"{len(xs)} seed{'s' if len(xs) != 1 else ''} ({_e(', '.join(map(str, xs)))})")

    trows = [
        ("file", lambda f: f"<code>{_e(f['path'])}</code>"),
        ("dataset, space", lambda f: f"{_e(f['dataset'])}, {_e(f['space'])} ({f['n_archs']} architectures)"),
        ("content hash", lambda f: f"<code>{_e(f['content_hash'])}</code>"),
        ("search schedule", lambda f: f"{f['search_epochs']} epochs (<code>{_e(f['search_schedule'])}</code>), "
                                      f"{seeds(f['search_seeds'])}; a query draws one seed"
                                      + _present_note(f.get("search_present_share"))),
        ("report schedule", lambda f: f"{f['report_epochs']} epochs (<code>{_e(f['report_schedule'])}</code>), "
                                      f"{seeds(f['report_seeds'])}; the incumbent is reported with the seed mean"),
        ("oracle", lambda f: f"best report-schedule validation accuracy {_fmt(f['oracle']['valid'])}% "
                             f"(its test accuracy {_fmt(f['oracle']['test'])}%; best test accuracy in the table "
                             f"{_fmt(f['best_test'])}%)<br><span class='arch'>#{f['oracle']['index']} "
                             f"{_e(f['oracle']['arch'])}</span>"),
    ]
    for label, fn in trows:
        add(f"<tr><th>{_e(label)}</th>" + "".join(f"<td>{fn(f)}</td>" for f in facts) + "</tr>")
    add("</table>")

    # --- per table
    for t in tables:
        tab = summary["tables"][t]
        add(f"<h2 id='table-{_e(t)}'>{_e(t)}</h2>")
        add(f"<h3 id='anytime-{_e(t)}'>Anytime performance</h3>")
        xdesc = ("simulated seconds (log scale), from the earliest first query to the budget"
                 if tab["x_axis"] == "time" else "number of queries (log scale)")
        add(f"<p class='note'>x: {xdesc}. Lines: mean over runs of the incumbent's value at that time "
            f"(step function: it changes when a query finishes); shaded: {LEVEL:.0%} confidence interval of "
            "the mean. Regret = oracle validation accuracy - the incumbent's, on the report schedule "
            "(0 = found the oracle; lower is better). Strategies that start with random samples draw them from the "
            "same seeded stream in run i, so their curves coincide until they start to differ.</p>")
        if f"anytime_regret/{t}" not in figs:
            add("<p><b>No curves: no run made a query within the budget, or too few runs have a value "
                "at any point of the grid.</b></p>")
        for key, alt in ((f"anytime_regret/{t}", "anytime regret"), (f"anytime_test/{t}", "anytime test accuracy")):
            if key in figs:
                add("<div>" + _img(figs[key], f"{t}: {alt}") + "</div>")

        add(f"<h3 id='results-{_e(t)}'>Final performance</h3>")
        add(f"<p class='note'>Value of the reported incumbent when the budget ran out. Mean, standard "
            f"deviation, median and a {LEVEL:.0%} bootstrap confidence interval of the mean over runs. "
            "Rows are sorted by the mean of the compared metric; the best is shaded.</p>")
        add("<table><tr><th rowspan='2'>strategy</th><th rowspan='2'>runs</th>"
            "<th colspan='3'>test accuracy (%)</th><th colspan='3'>validation accuracy (%)</th>"
            "<th colspan='2'>regret (pp)</th><th rowspan='2'>found oracle</th>"
            "<th rowspan='2'>queries / run</th><th rowspan='2'>sim. seconds / run</th></tr>"
            "<tr><th>mean &plusmn; std</th><th>median</th><th>95% CI of mean</th>"
            "<th>mean &plusmn; std</th><th>median</th><th>95% CI</th><th>mean</th><th>median</th></tr>")
        for i, s in enumerate(tab["ranking"]):
            fs = tab["final"][s]
            te, va, rg = fs["test"], fs["valid"], fs["regret"]
            add(f"<tr class='{'best' if i == 0 else ''}'><td>{_e(s)}</td><td class='num'>{fs['runs']}</td>"
                f"<td class='num'>{_fmt(te['mean'])} &plusmn; {_fmt(te['std'])}</td>"
                f"<td class='num'>{_fmt(te['median'])}</td>"
                f"<td class='num'>[{_fmt(te['ci_low'])}, {_fmt(te['ci_high'])}]</td>"
                f"<td class='num'>{_fmt(va['mean'])} &plusmn; {_fmt(va['std'])}</td>"
                f"<td class='num'>{_fmt(va['median'])}</td>"
                f"<td class='num'>[{_fmt(va['ci_low'])}, {_fmt(va['ci_high'])}]</td>"
                f"<td class='num'>{_fmt(rg['mean'], 3)}</td><td class='num'>{_fmt(rg['median'], 3)}</td>"
                f"<td class='num'>{_pct(fs['found_oracle'])}</td>"
                f"<td class='num'>{_fmt(fs['queries_mean'], 1)}</td>"
                f"<td class='num'>{_fmt(fs['sim_seconds_mean'], 0)}</td></tr>")
        add("</table>")
        missing = [(s, tab["final"][s]["test"]["n_missing"]) for s in tab["ranking"]
                   if tab["final"][s]["test"]["n_missing"]]
        if missing:
            add("<p class='note'>Runs without a final value (no query fitted in the budget, or only diverged "
                "trainings) are left out of the statistics: "
                + ", ".join(f"{_e(s)} {n}" for s, n in missing) + ".</p>")
        if f"final/{t}" in figs:
            add(_img(figs[f"final/{t}"], f"{t}: final {metric} accuracy per run"))

        if tab["pairwise"]:
            add(f"<h3 id='pairwise-{_e(t)}'>Pairwise tests</h3>")
            add(f"<p class='note'>Final {word} accuracy, {_e(setup['test_name'])}, two-sided, Holm-adjusted "
                f"over the {len(tab['pairwise'])} pair{'s' if len(tab['pairwise']) != 1 else ''} of this table. "
                "In the matrix, cell (row, column) shows A12 = P(row's run &gt; column's run) and the adjusted "
                "p-value; outlined cells are significant.</p>")
            add("<div class='figrow'>")
            if f"pairwise/{t}" in figs:
                add(_img(figs[f"pairwise/{t}"], f"{t}: pairwise p-value matrix"))
            add("</div>")
            add("<table><tr><th>A</th><th>B</th><th>test</th><th>n</th><th>statistic</th><th>p</th>"
                "<th>p (Holm)</th><th>A12(A,B)</th><th>effect</th><th>verdict</th></tr>")
            for r in tab["pairwise"]:
                add(f"<tr><td>{_e(r['a'])}</td><td>{_e(r['b'])}</td><td>{_e(r['test'])}</td>"
                    f"<td class='num'>{r['n_a']}/{r['n_b']}</td><td class='num'>{_fmt(r['statistic'], 1)}</td>"
                    f"<td class='num'>{_fmt_p(r['p'])}</td><td class='num'>{_fmt_p(r['p_holm'])}</td>"
                    f"<td class='num'>{_fmt(r['a12'])}</td><td>{_e(r['magnitude'])}</td>"
                    f"<td>{_e(r['verdict'])}</td></tr>")
            add("</table>")

    across = summary.get("across_tables")
    if across:
        add("<h2 id='across'>Across tables</h2>")
        add(f"<p class='note'>Each table ranks the strategies by mean final {word} accuracy (1 = best, ties "
            "share the average rank); ranks are averaged over tables. The Friedman test (with the "
            "Iman-Davenport correction) asks whether any strategy ranks consistently differently; the Nemenyi "
            "critical difference (CD) is the smallest difference of average ranks that is significant "
            "(Dem&scaron;ar 2006). With few tables these tests have little power.</p>")
        add("<table><tr><th>strategy</th>" + "".join(f"<th>{_e(t)}</th>" for t in tables)
            + "<th>average rank</th></tr>")
        for s in strategies:
            add(f"<tr><td>{_e(s)}</td>" + "".join(
                f"<td class='num'>{_fmt(across['matrix'][t][s])}</td>" for t in tables)
                + f"<td class='num'>{_fmt((across.get('avg_ranks') or {}).get(s))}</td></tr>")
        add("</table>")
        fr = across.get("friedman")
        add(f"<p>{_e(across['plain'])}</p>")
        if fr:
            idf = (f"Iman-Davenport F = {_fmt(fr['iman_davenport_F'])}, p {_p_eq(fr['iman_davenport_p'])}"
                   if fr["iman_davenport_F"] is not None else
                   "Iman-Davenport F is infinite (every table ranks the strategies alike), so the chi-square "
                   "p-value is used")
            add(f"<p class='note'>Friedman chi&sup2; = {_fmt(fr['chi2'])}, p {_p_eq(fr['p'])}; {idf} "
                f"({fr['k']} strategies, {fr['n']} tables). Nemenyi CD = {_fmt(across['cd'])}.</p>")
        if "cd" in figs:
            add("<h3 id='cd'>Critical-difference diagram</h3>")
            add("<p class='note'>Strategies joined by a thick bar are not significantly different "
                "(Nemenyi).</p>")
            add(_img(figs["cd"], "critical difference diagram"))

    add("<h2 id='definitions'>Definitions</h2><ul class='note'>")
    add("<li><b>Incumbent</b>: the architecture with the best validation accuracy observed so far on the "
        "search schedule; it is reported with its seed-mean validation and test accuracy on the report "
        "schedule (never a running maximum of test accuracy).</li>")
    add("<li><b>Oracle</b>: the architecture of the table with the best seed-mean validation accuracy on "
        "the report schedule. <b>Regret</b> = oracle validation accuracy - incumbent's, in percentage points "
        "(pp). <b>Found oracle</b>: share of runs whose final incumbent is the oracle.</li>")
    add("<li><b>Simulated seconds</b>: the table's recorded training plus validation time of every query, "
        "charged by the runner; a query that would exceed the budget is not made.</li>")
    add("<li>Every number on this page is in <code>summary.json</code> next to this file.</li>")
    add("</ul></body></html>")
    return "\n".join(h)


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def _budget_text(setup) -> str:
    parts = []
    if setup["budget_seconds"] is not None:
        parts.append(f"{setup['budget_seconds']:g} simulated seconds")
    if setup["budget_queries"] is not None:
        parts.append(f"{setup['budget_queries']} queries")
    return " and ".join(parts)


def build_report(out_dir, *, metric=None, test=None, alpha=None, runs=None) -> dict:
    """Recompute and write DIR/summary.json and DIR/report.html; returns the summary."""
    summary, curves = analyze(out_dir, metric=metric, test=test, alpha=alpha, runs=runs)
    figs = make_figures(summary, curves)
    out = Path(out_dir)
    _atomic_write_json(out / SUMMARY_JSON, summary)
    page = render_html(summary, figs)
    tmp = out / f".{REPORT_HTML}.{os.getpid()}.tmp"
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out / REPORT_HTML)
    return summary


def text_summary(summary: dict) -> str:
    """The terminal version: results table per table and the verdict lines."""
    setup = summary["setup"]
    lines = []
    for t, tab in summary["tables"].items():
        lines.append(f"{t}: final incumbent ({tab['facts']['report_schedule']}-epoch schedule), "
                     f"{setup['runs']} runs per strategy, {_budget_text(setup)}")
        w = max(8, *(len(s) for s in tab["ranking"]))
        lines.append(f"  {'strategy':<{w}}  {'runs':>4}  {'test mean+-std':>15}  {'median':>6}  "
                     f"{'95% CI':>15}  {'valid mean':>10}  {'regret':>6}")
        for s in tab["ranking"]:
            fs = tab["final"][s]
            te = fs["test"]
            lines.append(f"  {s:<{w}}  {fs['runs']:>4}  {_fmt(te['mean']):>7} +- {_fmt(te['std']):<5}  "
                         f"{_fmt(te['median']):>6}  [{_fmt(te['ci_low'])}, {_fmt(te['ci_high'])}]"
                         f"  {_fmt(fs['valid']['mean']):>10}  {_fmt(fs['regret']['mean'], 3):>6}")
        for s in tab["ranking"]:
            n_missing = tab["final"][s]["test"]["n_missing"]
            if n_missing:
                lines.append(f"  note: {n_missing} runs of {s} have no final value (no query fitted in "
                             "the budget, or only diverged trainings)")
    if summary.get("verdicts"):
        lines.append("verdicts:")
        lines += [f"  {v}" for v in summary["verdicts"]]
    return "\n".join(lines)


def headline(summary: dict) -> dict:
    """The headline numbers for `--json`."""
    return {
        "tables": {t: {"final": {s: {m: {k: fs[m][k] for k in ("mean", "std", "median", "ci_low", "ci_high", "n")}
                                     for m in METRICS} | {"runs": fs["runs"]}
                                 for s, fs in tab["final"].items()},
                       "pairwise": [{k: r[k] for k in ("a", "b", "test", "p", "p_holm", "a12", "magnitude",
                                                       "winner")} for r in tab["pairwise"]]}
                   for t, tab in summary["tables"].items()},
        "across_tables": None if not summary.get("across_tables") else {
            k: summary["across_tables"].get(k) for k in ("avg_ranks", "friedman", "cd", "groups")},
        "verdicts": summary["verdicts"],
        "metric": summary["setup"]["metric"],
    }
