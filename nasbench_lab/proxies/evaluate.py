"""How well each proxy ranks a table's cells: Spearman and Kendall tau with final validation and
test accuracy, overall and within the top cells, with bootstrap intervals, and top-k overlap.

One point per distinct cell (canonical key; duplicates would count one cell many times),
among the cells with proxies and a final accuracy of every seed; scores are averaged over
the init seeds, accuracies over the training seeds. "Within the top" means among the cells
whose accuracy (the one correlated with) is in its top `top_fraction`. Intervals: 95%
percentile bootstrap over cells (resampled with replacement).
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from nasbench_lab import NasbenchError

TARGETS = ("valid_acc", "test_acc")


def _spearman_boot(s: np.ndarray, a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Spearman of every bootstrap resample at once (rows of `idx`)."""
    rs = stats.rankdata(s[idx], axis=1)
    ra = stats.rankdata(a[idx], axis=1)
    rs -= rs.mean(1, keepdims=True)
    ra -= ra.mean(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rs * ra).sum(1) / np.sqrt((rs * rs).sum(1) * (ra * ra).sum(1))


def _kendall(s, a) -> float:
    return float(stats.kendalltau(s, a).statistic)


def correlations(s: np.ndarray, a: np.ndarray, n_boot: int, rng: np.random.Generator) -> dict:
    """Spearman and Kendall tau of score `s` with accuracy `a`, each with a 95% bootstrap interval."""
    n = s.size
    if n < 3 or np.ptp(s[np.isfinite(s)]) == 0 if np.isfinite(s).any() else True:
        return {"n": int(n), "spearman": None, "kendall": None}
    rho = float(stats.spearmanr(s, a).statistic)
    tau = _kendall(s, a)
    out = {"n": int(n), "spearman": rho, "kendall": tau}
    if n_boot > 0:
        idx = rng.integers(0, n, size=(n_boot, n))
        sp = _spearman_boot(s, a, idx)
        kt = np.array([_kendall(s[i], a[i]) for i in idx])
        out["spearman_ci"] = [float(x) for x in np.nanpercentile(sp, [2.5, 97.5])]
        out["kendall_ci"] = [float(x) for x in np.nanpercentile(kt, [2.5, 97.5])]
    return out


def topk_overlap(s: np.ndarray, a: np.ndarray, k: int) -> float:
    """Share of the k best cells by score that are among the k best by accuracy."""
    k = min(k, s.size)
    top_s = np.argsort(-np.where(np.isnan(s), -np.inf, s), kind="stable")[:k]
    top_a = np.argsort(-a, kind="stable")[:k]
    return float(len(set(top_s.tolist()) & set(top_a.tolist())) / k)


def cell_data(table) -> tuple[dict, dict, list]:
    """(scores: name -> [cells], accuracies: target -> [cells], representative indices)."""
    from nasbench_lab.proxies.scores import BASELINES
    from nasbench_lab.tables.build import make_plan

    ps = table.proxies()
    if ps is None:
        raise NasbenchError(f"{table.path} has no proxies: compute them with `nasbench-lab proxies "
                            f"{table.path}` (tables built by the live backend only)")
    sch = table.schedule(None)
    plan = make_plan(table.space, [0])
    reps = np.array([plan.representative[k] for k in plan.keys])
    present = table.present(sch.name)[reps].all(1) & ps.present[reps].any(1)
    acc = {m: table.lookup(m, reps, sch.name) for m in TARGETS if m in sch.metrics}
    for a in acc.values():
        present &= np.isfinite(a)
    reps = reps[present]
    scores = {n: ps.mean(n)[reps] for n in ps.names}
    static = table.describe()["static"]
    for b in BASELINES:
        if b in static:
            scores[b] = table.static(b)[reps].astype(np.float64)
    return scores, {m: a[present] for m, a in acc.items()}, reps.tolist()


def evaluate_table(path, *, top_fraction: float = 0.1, topk: int | None = None, n_boot: int = 1000,
                   seed: int = 0) -> dict:
    from nasbench_lab.tables.table import Table

    if not 0 < top_fraction <= 1:
        raise NasbenchError(f"--top-fraction must be in (0, 1], got {top_fraction}")
    if n_boot < 0 or (topk is not None and topk < 1):
        raise NasbenchError("--bootstrap must be 0 or more and --topk at least 1")
    with Table(path) as t:
        scores, acc, reps = cell_data(t)
        ps = t.proxies()
        info = {"table": t.name, "path": str(t.path), "seeds": list(ps.info.seeds),
                "batch_size": ps.info.setting.get("batch_size"),
                "seconds": {n: float(np.nanmean(ps.cost(n)[reps])) for n in ps.names}}
    if len(reps) < 3:
        raise NasbenchError(f"{path}: only {len(reps)} cells have both proxies and accuracies; compute more")
    rng = np.random.default_rng(seed)
    n_top = max(3, int(round(top_fraction * len(reps))))
    k = topk or n_top
    rows = {}
    for name, s in scores.items():
        row = {}
        for m, a in acc.items():
            ok = ~np.isnan(s)
            top = np.zeros(len(a), bool)
            top[np.argsort(-a, kind="stable")[:n_top]] = True
            row[m] = {"all": correlations(s[ok], a[ok], n_boot, rng),
                      "top": correlations(s[ok & top], a[ok & top], n_boot, rng),
                      "topk_overlap": topk_overlap(s, a, k)}
        row["undefined"] = int(np.isnan(s).sum())
        rows[name] = row
    return {**info, "cells": len(reps), "top_fraction": top_fraction, "top_cells": n_top, "k": k,
            "bootstrap": n_boot, "proxies": rows}


def _fmt(c: dict, key: str) -> str:
    v = c.get(key)
    if v is None:
        return "n/a".rjust(20)
    ci = c.get(f"{key}_ci")
    return f"{v:+.3f} [{ci[0]:+.2f},{ci[1]:+.2f}]" if ci else f"{v:+.3f}".rjust(20)


def format_evaluation(res: dict) -> str:
    lines = [f"proxies of {res['table']}: {res['cells']} distinct cells, init seeds {','.join(res['seeds'])}, "
             f"batch {res['batch_size']}; top = best {res['top_cells']} cells ({100 * res['top_fraction']:g}%) by "
             f"that accuracy; [95% bootstrap, {res['bootstrap']} resamples]; top-{res['k']} overlap"]
    for m in TARGETS:
        if not all(m in r for r in res["proxies"].values()):
            continue
        lines.append(f"\nwith final {m} (seed mean)")
        lines.append(f"  {'proxy':<10} {'Spearman':>20} {'Kendall':>20} {'Spearman top':>20} {'Kendall top':>20} "
                     f"{'top-k':>6} {'CPU ms':>7}")
        for name, r in res["proxies"].items():
            c = r[m]
            sec = res["seconds"].get(name)
            lines.append(f"  {name:<10} {_fmt(c['all'], 'spearman')} {_fmt(c['all'], 'kendall')} "
                         f"{_fmt(c['top'], 'spearman')} {_fmt(c['top'], 'kendall')} {c['topk_overlap']:>6.3f} "
                         f"{'static' if sec is None else f'{1e3 * sec:.1f}':>7}")
    undefined = {n: r["undefined"] for n, r in res["proxies"].items() if r["undefined"]}
    if undefined:
        lines.append("\nundefined (NaN, left out): " + ", ".join(f"{n} {v} cells" for n, v in undefined.items()))
    return "\n".join(lines)
