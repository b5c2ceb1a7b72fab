"""Every statistic of the report, recomputed from the stored runs (nothing is rerun)."""
from __future__ import annotations

import datetime as _dt
import platform

import numpy as np

from nasbench_lab import NasbenchError, __version__
from nasbench_lab import stats as st
from nasbench_lab.report.format import jsonable as _jsonable
from nasbench_lab.report.manifest import GRID_POINTS, LEVEL, METRICS, N_BOOT, SCHEMA, TESTS, load_manifest
from nasbench_lab.report.run_columns import RunColumns, anytime_matrix, step_index
from nasbench_lab.report.ranking import across_tables, order_by_median, orient_pairs, table_ranking, verdict_line
from nasbench_lab.objectives import Objectives
from nasbench_lab.results import ResultStore


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


def column_samples(cols: RunColumns, oracle_valid: float) -> dict[str, dict[int, float]]:
    """`final_samples` of runs read as columns (the same values, without a record per run)."""
    f = cols.final()
    runs = cols.run.tolist()
    return {"test": dict(zip(runs, f["test"].tolist())), "valid": dict(zip(runs, f["valid"].tolist())),
            "regret": dict(zip(runs, (float(oracle_valid) - f["valid"]).tolist()))}


def _grid(cols_by_strategy, budget_seconds, budget_queries):
    """(x axis kind, grid) for one table: simulated time from the earliest first query to
    the budget, or the query number when the budget is a number of queries only."""
    if budget_seconds is not None:
        firsts = np.concatenate([c.time[c.start[c.length > 0]] for c in cols_by_strategy.values()])
        lo = firsts.min() if firsts.size else 0.0
        hi = float(budget_seconds)
        if not (0 < lo < hi):
            lo = hi / 1000.0
        return "time", st.time_grid(hi, GRID_POINTS, log=True, min_time=lo)
    q = int(budget_queries or max((int(c.length.max()) for c in cols_by_strategy.values() if len(c)),
                                  default=1))
    grid = np.unique(np.round(np.geomspace(1, max(q, 1), min(max(q, 1), GRID_POINTS))))
    return "queries", grid.astype(float)


def _values(cols: RunColumns, values: str, oracle_valid: float) -> np.ndarray:
    if values == "regret":
        return oracle_valid - np.asarray(cols.incumbent_valid, dtype=float)
    if values == "test":
        return np.asarray(cols.incumbent_test, dtype=float)
    return np.asarray(cols.incumbent_valid, dtype=float)


def analyze(out_dir, *, metric: str | None = None, test: str | None = None,
            alpha: float | None = None, runs: int | None = None) -> tuple[dict, dict]:
    """Recompute every statistic of the report from the stored runs of `out_dir`.

    Returns (summary, curves): `summary` is what goes to summary.json; `curves` holds the
    arrays needed for the figures (also included in summary under "anytime")."""
    store = ResultStore(out_dir)
    man = load_manifest(store)
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
    objectives = Objectives.from_config(cfg)  # --objectives/--max-params of the runs
    paired = test == "wilcoxon"

    per_table = {}
    curves = {}
    verdicts = []
    for tname in tables:
        facts = man["table_facts"][tname]
        oracle_valid = facts["oracle"]["valid"]
        cols = {s: RunColumns(store.load_columns(tname, s, runs)) for s in strategies}
        kind, grid = _grid(cols, bs, bq)
        any_curves = {"regret": {}, "test": {}}
        for s in strategies:  # one (runs x grid) array per strategy and value, no loop over runs
            c_ = cols[s]
            index = step_index(c_.x(kind), c_.start, c_.length, grid)
            for values in ("regret", "test"):
                c, lo, hi = st.curve_band(anytime_matrix(_values(c_, values, oracle_valid), index),
                                          level=LEVEL, method="mean_ci")
                any_curves[values][s] = {"mean": c, "ci_low": lo, "ci_high": hi}
        curves[tname] = {"x": kind, "grid": grid, **any_curves}
        samples = {s: column_samples(cols[s], oracle_valid) for s in strategies}
        curves[tname]["final_samples"] = {s: {m: [v for _, v in sorted(samples[s][m].items())] for m in METRICS}
                                          for s in strategies}
        final = {}
        tabs = st.summary_tables({m: {s: curves[tname]["final_samples"][s][m] for s in strategies} for m in METRICS},
                                 level=LEVEL, n_boot=N_BOOT, rng=seed)  # = one summary_table per metric
        for m in METRICS:
            for s in strategies:
                final.setdefault(s, {})[m] = tabs[m][s]
        for s in strategies:
            c_, n = cols[s], len(cols[s])
            fin = c_.final()
            final[s]["runs"] = n
            final[s]["queries_mean"] = float(np.mean(c_.length)) if n else None
            final[s]["sim_seconds_mean"] = float(np.mean(fin["time"])) if n else None
            final[s]["found_oracle"] = (int(np.count_nonzero(fin["arch"] == facts["oracle"]["index"])) / n
                                        if n else None)
            final[s]["wall_seconds_per_run"] = (float(np.mean([m.get("wall_seconds", 0.0) for m in c_.meta]))
                                                if n else None)
        ranking = order_by_median(final, strategies, metric)
        pairs = []
        if len(strategies) >= 2:
            data = {s: (samples[s][metric] if paired else [samples[s][metric][k] for k in sorted(samples[s][metric])])
                    for s in ranking}
            res = st.pairwise_tests(data, paired=paired, alpha=alpha, higher_is_better=higher)
            pairs = orient_pairs([r.to_dict() for r in res], ranking)
            for d in pairs:
                d["plain"] = verdict_line(tname, d, final, metric, alpha, facts.get("resolution"))
                d.pop("verdict", None)  # stats' own wording; "plain" is the report's
                verdicts.append(d["plain"])
        stability = None
        if pairs:  # the verdicts on tables with the cells' seeds drawn again (report/stability.py)
            from nasbench_lab.report.stability import for_table

            stability = for_table(cfg, tname, facts, cols, pairs, metric=metric, paired=paired, alpha=alpha,
                                  seed=seed)
        rk = table_ranking(tname, ranking, pairs, final, metric, alpha)
        per_table[tname] = {"facts": facts, "x_axis": kind, "final": final, "pairwise": pairs,
                            "ranking": ranking, "letters": rk["letters"], "headline": rk["sentence"],
                            "per_run": samples, "stability": stability}
        if objectives.is_vector:  # report/hypervolume.py: fronts, hypervolume curves and tests
            from nasbench_lab.report.hypervolume import analyze_table as hypervolume_table

            recs = {s: store.load(tname, s, runs) for s in strategies}
            per_table[tname]["hypervolume"], curves[tname]["hv"] = hypervolume_table(
                tname, facts, recs, strategies, objectives, kind, grid, paired, alpha, seed, LEVEL, N_BOOT)

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
            **objectives.config(),
            "metric": metric, "test": test, "test_name": TESTS[test], "alpha": alpha,
            "confidence_level": LEVEL, "bootstrap": f"BCa, {N_BOOT} resamples, seed {seed}",
            "curve_band": f"mean and Student-t {LEVEL:.0%} CI over runs",
            "software_version": __version__, "results_software_version": cfg.get("software_version"),
            "python": platform.python_version(),
        },
        "tables": per_table,
        "across_tables": across,
        "verdicts": verdicts,
        "headlines": [per_table[t]["headline"] for t in tables] + ([across["plain"]] if across else []),
        "anytime": {t: {"x": c["x"], "grid": c["grid"], "regret": c["regret"], "test": c["test"]}
                    for t, c in curves.items()},
        "timing": {"generated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                   "compare_wall_seconds": man.get("wall_seconds")},
    }
    return _jsonable(summary), curves
