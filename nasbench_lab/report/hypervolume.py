"""Multi-objective statistics of a compare: each run's Pareto front, its hypervolume over time, tests on the final one.

Used when the runs were made with `--objectives valid_acc,COST[,...]` (the configuration
says so). Definitions (also printed in the report):
- a run's front after query k: the queried cells no other queried cell dominates on what
  the search observed (validation accuracy of its table seed, up; the cost metrics, down);
  infeasible queries (--max-params) and failed trainings are left out;
- the front is reported like the incumbent: each of its cells with its report-schedule
  seed-mean *test* accuracy and its cost metrics;
- normalisation and reference point, fixed per table: every objective is mapped to [0, 1]
  by the best and worst value over all cells of the table (accuracy: test accuracy of the
  report schedule; 0 = best), and the reference point is (1, ..., 1), i.e. the worst value
  of each objective over the table. The hypervolume is then in [0, 1]; the table's own
  front (every cell known) gives the largest value a search can reach.
"""
from __future__ import annotations

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab import stats as st
from nasbench_lab.objectives import Objectives
from nasbench_lab.pareto import hypervolume, nondominated_mask

REFERENCE = ("each objective normalised to [0, 1] by its best and worst value over the table's cells "
             "(accuracy: report-schedule test accuracy, seed mean); reference point (1, ..., 1) = the worst "
             "value of each objective over the table")


class TablePoints:
    """One table's cells in objective space: raw (test accuracy, costs) and normalised losses."""

    def __init__(self, facts: dict, objectives: Objectives):
        from nasbench_lab.tables.table import Table

        try:
            table = Table(facts["path"])
        except Exception as e:  # noqa: BLE001 - any reason it cannot be opened is one line
            raise NasbenchError(f"the hypervolume report needs table {facts['name']!r} at {facts['path']} "
                                f"({e}); put it back or rerun the compare") from None
        if table.content_hash != facts["content_hash"]:
            raise NasbenchError(f"table {facts['path']} has changed since the runs were made (content hash "
                                f"{table.content_hash[:12]}, runs made on {facts['content_hash'][:12]}); rerun")
        idx = np.arange(table.n_archs)
        test = np.asarray(table.lookup("test_acc", idx, facts["report_schedule"]), dtype=float)
        costs = objectives.static_matrix(table)
        self.names = objectives.names
        self.raw = np.column_stack([test, costs])
        self.feasible = objectives.feasible_mask(table)
        losses = np.column_stack([-test, costs])
        ok = np.isfinite(losses).all(axis=1)
        if self.feasible is not None:
            ok &= self.feasible
        if not ok.any():
            raise NasbenchError(f"table {facts['name']!r}: no cell has every objective")
        self.lo = np.nanmin(np.where(ok[:, None], losses, np.nan), axis=0)
        self.hi = np.nanmax(np.where(ok[:, None], losses, np.nan), axis=0)
        span = np.where(self.hi > self.lo, self.hi - self.lo, 1.0)
        self.norm = (losses - self.lo) / span
        self.norm[~ok] = np.nan
        self.ref = np.ones(len(self.names))
        front = np.flatnonzero(ok)[nondominated_mask(self.norm[ok])]
        self.front_archs = front[np.argsort(self.raw[front, 1] if self.raw.shape[1] > 1 else front)]
        self.front_hv = hypervolume(self.norm[front], self.ref)
        table.close()

    def bounds(self) -> dict:
        """{objective: [best, worst]} in raw units (accuracy in %)."""
        out = {}
        for j, n in enumerate(self.names):
            best, worst = (-self.lo[j], -self.hi[j]) if j == 0 else (self.lo[j], self.hi[j])
            out[n] = [float(best), float(worst)]
        return out


def run_hypervolume(record, pts: TablePoints) -> tuple[np.ndarray, list[int]]:
    """Hypervolume of the run's reported front after each query, and the final front's cells."""
    arch, valid = record.arch.tolist(), record.valid.tolist()
    costs = pts.raw[:, 1:]
    front: list[tuple[tuple, int]] = []   # (observed loss vector, arch)
    hv = np.zeros(len(arch))
    cur = 0.0
    for k, (a, v) in enumerate(zip(arch, valid)):
        if v == v and (pts.feasible is None or pts.feasible[a]) and np.isfinite(pts.norm[a]).all():
            obs = np.concatenate([[-v], costs[a]])
            if not any(np.all(np.asarray(f) <= obs) for f, _ in front):
                front = [(f, b) for f, b in front if not (np.all(obs <= np.asarray(f)))]
                front.append((tuple(obs.tolist()), a))
                cur = hypervolume(pts.norm[[b for _, b in front]], pts.ref)
        hv[k] = cur
    return hv, sorted({b for _, b in front})


def analyze_table(tname: str, facts: dict, recs: dict, strategies: list, objectives: Objectives,
                  kind: str, grid, paired: bool, alpha: float, seed: int, level: float, n_boot: int):
    """(summary part, curves part) of one table: hypervolume anytime bands, final summary,
    pairwise tests on the final hypervolume (Holm), the median run's front per strategy."""
    pts = TablePoints(facts, objectives)
    bands, finals, fronts, samples = {}, {}, {}, {}
    for s in strategies:
        trajs, per_run, run_fronts = [], {}, {}
        for r in recs[s]:
            hv, fr = run_hypervolume(r, pts)
            x = np.asarray(r.time, dtype=float) if kind == "time" else np.arange(1, r.n_queries + 1, dtype=float)
            trajs.append((x, hv))
            run = int(r.meta["run"])
            per_run[run] = float(hv[-1]) if len(hv) else float("nan")
            run_fronts[run] = fr
        c, lo, hi = st.curve_band(st.anytime_curves(trajs, grid), level=level, method="mean_ci")
        bands[s] = {"mean": c, "ci_low": lo, "ci_high": hi}
        samples[s] = per_run
        vals = np.array([per_run[k] for k in sorted(per_run)], dtype=float)
        fin = vals[np.isfinite(vals)]
        if fin.size:  # the run whose final hypervolume is the (lower) median
            med = float(np.sort(fin)[(fin.size - 1) // 2])
            run = next(k for k in sorted(per_run) if per_run[k] == med)
            fronts[s] = {"run": run, "hypervolume": med,
                         "cells": run_fronts[run], "points": pts.raw[run_fronts[run]].tolist()}
    tab = st.summary_table({s: [samples[s][k] for k in sorted(samples[s])] for s in strategies},
                           level=level, n_boot=n_boot, rng=seed)
    for s in strategies:
        finals[s] = tab[s]
    ranking = sorted(strategies, key=lambda s: -(finals[s]["median"] if finals[s]["median"] is not None
                                                 and np.isfinite(finals[s]["median"]) else -np.inf))
    pairs = []
    if len(strategies) >= 2:
        data = {s: (samples[s] if paired else [samples[s][k] for k in sorted(samples[s])]) for s in ranking}
        for res in st.pairwise_tests(data, paired=paired, alpha=alpha, higher_is_better=True):
            d = res.to_dict()
            if ranking.index(d["b"]) < ranking.index(d["a"]):  # A: the higher-ranked of the two
                d["a"], d["b"], d["n_a"], d["n_b"] = d["b"], d["a"], d["n_b"], d["n_a"]
                d["a12"] = 1.0 - d["a12"] if d["a12"] is not None else None
            d["plain"] = _verdict(tname, d, finals, alpha)
            d.pop("verdict", None)
            pairs.append(d)
    summary = {"objectives": list(objectives.names), "max_params": objectives.max_params,
               "reference": REFERENCE, "bounds": pts.bounds(), "table_front_hypervolume": pts.front_hv,
               "table_front": {"cells": pts.front_archs.tolist(), "points": pts.raw[pts.front_archs].tolist()},
               "final": finals, "ranking": ranking, "pairwise": pairs, "median_fronts": fronts,
               "per_run": {s: samples[s] for s in strategies}}
    curves = {"bands": bands, "all_points": pts.raw}
    return summary, curves


def _verdict(tname: str, d: dict, finals: dict, alpha: float) -> str:
    a, b = d["a"], d["b"]
    ma, mb = finals[a]["median"], finals[b]["median"]
    if d["p"] is None or d["p"] != d["p"]:
        return f"{tname}: {a} vs {b}: not enough runs with a front to test the final hypervolume"
    test = "Wilcoxon" if d["test"].startswith("wilcoxon") else "Mann-Whitney"
    from nasbench_lab.report.format import fmt

    nums = (f"median final hypervolume {fmt(ma, 4)} vs {fmt(mb, 4)}; {test} p = {d['p']:.2g}, "
            f"Holm p = {d['p_holm']:.2g}, A12 = {d['a12']:.2f}")
    if d["winner"] is not None:
        w, l_ = (a, b) if d["winner"] == a else (b, a)
        return f"{tname}: {w} reaches a larger final hypervolume than {l_} ({nums})"
    return f"{tname}: no significant difference in final hypervolume between {a} and {b} at alpha {alpha:g} ({nums})"


def text_lines(tname: str, mo: dict, setup: dict) -> list[str]:
    """The terminal lines of one table's hypervolume comparison."""
    from nasbench_lab.report.format import fmt

    cap = f", params <= {mo['max_params']:g}" if mo.get("max_params") else ""
    lines = [f"{tname}: final hypervolume of the front ({', '.join(mo['objectives'])}{cap}; normalised, "
             f"reference = worst of each objective over the table; the table's own front: "
             f"{mo['table_front_hypervolume']:.4f})"]
    w = max(8, *(len(s) for s in mo["ranking"]))
    lines.append(f"  {'#':>2}  {'strategy':<{w}}  {'runs':>4}  {'median':>7}  {'mean +- std':>17}  {'95% CI of mean':>18}")
    for i, s in enumerate(mo["ranking"], start=1):
        f = mo["final"][s]
        lines.append(f"  {i:>2}  {s:<{w}}  {f['n']:>4}  {fmt(f['median'], 4):>7}  {fmt(f['mean'], 4):>7} +- "
                     f"{fmt(f['std'], 4):<6}  [{fmt(f['ci_low'], 4)}, {fmt(f['ci_high'], 4)}]")
    for d in mo["pairwise"]:
        lines.append(f"  {d['plain']}")
    return lines
