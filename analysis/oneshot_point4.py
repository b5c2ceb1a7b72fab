"""Issue 13 point 4 from stored `nasbench-lab oneshot` runs (nothing is searched again).

(i)  DARTS collapse: for every stored DARTS run, the cell it would report after each epoch
     (argmax of alpha per edge, `OneShotResult.derived`), its share of parameter-free ops
     (none, skip_connect, avg_pool_3x3) and its table test accuracy; mean and 95% t-interval
     over the runs per epoch; figure (default datasets/figures/oneshot-collapse.png).
(ii) One-shot vs random search at the same CPU cost: for each method stored in a oneshot
     DIR, a new results folder DIR-vs-random-METHOD gets the method's runs (the same
     records, re-stored with budget_seconds = the method's measured mean search cost) and
     `random` runs at that budget on the same table, then `nasbench-lab report` on it prints
     medians, Holm-adjusted p and A12.

    python analysis/oneshot_point4.py --darts runs/p4/darts --vs-random runs/p4/gr
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from scipy import stats

from nasbench_lab import __version__
from nasbench_lab.results import ResultStore
from nasbench_lab.runner import Budget, run_search
from nasbench_lab.strategies import get_strategy
from nasbench_lab.strategies.oneshot.base import OneShotResult
from nasbench_lab.strategies.oneshot.clock import TimeFactor
from nasbench_lab.strategies.oneshot.scoring import cell_scores, param_free_share, table_protocol, to_record
from nasbench_lab.tables.table import open_table


def _records(directory):
    store = ResultStore(directory)
    (table_name, info), = store.config["tables"].items()
    table = open_table(info["path"])
    return store, table, {m: store.load(table.name, m) for m in store.config["oneshot"]["methods"]}


def _ci(x):
    x = np.asarray(x, float)
    m = x.mean(0)
    h = stats.t.ppf(0.975, len(x) - 1) * x.std(0, ddof=1) / np.sqrt(len(x)) if len(x) > 1 else np.zeros_like(m)
    return m, m - h, m + h


def collapse(directory, fig_path) -> dict:
    _, table, per = _records(directory)
    out = {}
    for m, recs in per.items():
        res = [OneShotResult.from_dict(r.meta["oneshot"]) for r in recs]
        res = [r for r in res if len(r.derived) > 1]
        if not res:
            continue
        E = min(len(r.derived) for r in res)
        share = np.array([[param_free_share([r.derived[e]]) for e in range(E)] for r in res])
        acc = np.array([cell_scores(table, r.derived[:E])["test"] for r in res])
        out[m] = {"runs": len(res), "epochs": E, "share": [list(map(float, v)) for v in _ci(share)],
                  "test": [list(map(float, v)) for v in _ci(acc)],
                  "seconds_per_epoch": float(np.mean([r.search_seconds / E for r in res]))}
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    for m, s in out.items():
        x = np.arange(1, s["epochs"] + 1)
        for ax, key in ((a1, "share"), (a2, "test")):
            mean, lo, hi = map(np.array, s[key])
            ax.plot(x, mean, label=f"{m} ({s['runs']} seeds)")
            ax.fill_between(x, lo, hi, alpha=0.2)
    a1.set_ylabel("share of none/skip/pool edges in the derived cell")
    a2.set_ylabel("table test accuracy of the derived cell (%)")
    for a in (a1, a2):
        a.set_xlabel("search epoch (argmax of alpha after it)")
        a.grid(alpha=0.3)
        a.legend(fontsize=8)
    fig.suptitle(f"one-shot collapse on {table.name}: mean and 95% t-interval over seeds")
    fig.tight_layout()
    Path(fig_path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(fig_path, dpi=110)
    return out


def versus_random(directory, baseline="random") -> dict:
    src, table, per = _records(directory)
    summaries = {}
    for m, recs in per.items():
        if not recs:
            continue
        budget = round(float(np.mean([r.time[-1] for r in recs])), 1)
        config = {**src.config, "strategies": {m: src.config["strategies"][m],
                                               baseline: dict(get_strategy(baseline).defaults)},
                  "budget_seconds": budget, "budget_queries": None, "software_version": __version__,
                  "oneshot": {"methods": [m], "protocol": table_protocol(table).to_dict(),
                              "records_from": str(directory)}}
        dest = ResultStore(f"{directory}-vs-{baseline}-{m}", config)
        for r in recs:
            run = r.meta["run"]
            if not dest.has(table.name, m, run):
                dest.save(to_record(OneShotResult.from_dict(r.meta["oneshot"]), table, run, r.meta["seed"],
                                    budget, wall_seconds=r.meta.get("wall_seconds", 0.0),
                                    time_factor=TimeFactor.from_dict(r.meta.get("time_factor"))))
            if not dest.has(table.name, baseline, run):
                dest.save(run_search(table, baseline, seed=src.config["seed"], run=run,
                                     budget=Budget(seconds=budget)))
        rep = subprocess.run([sys.executable, "-m", "nasbench_lab.cli", "report", str(dest.dir), "--json"],
                             capture_output=True, text=True)
        summaries[m] = {"budget_seconds": budget, "runs": len(recs), "dir": str(dest.dir),
                        "report": json.loads(rep.stdout) if rep.returncode == 0 else rep.stderr.strip()}
    return summaries


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--darts", help="oneshot DIR with DARTS runs (collapse curve)")
    ap.add_argument("--figure", default="datasets/figures/oneshot-collapse.png")
    ap.add_argument("--vs-random", help="oneshot DIR whose methods are compared with random search")
    a = ap.parse_args(argv)
    if a.darts:
        for m, c in collapse(a.darts, a.figure).items():
            print(f"{m}: {c['runs']} seeds, {c['seconds_per_epoch']:.2f} CPU s/epoch; epoch: param-free share "
                  "mean [95% CI] | table test acc mean [95% CI]")
            for e in sorted({1, 2, 5, 10, 20, 30, 40, 50, c["epochs"]} & set(range(1, c["epochs"] + 1))):
                (sm, sl, sh), (tm, tl, th) = ([v[e - 1] for v in c[k]] for k in ("share", "test"))
                print(f"  {e:3d}: {sm:.2f} [{sl:.2f}, {sh:.2f}] | {tm:.2f} [{tl:.2f}, {th:.2f}]")
        print(f"figure: {a.figure}")
    if a.vs_random:
        for m, v in versus_random(a.vs_random).items():
            rep = v["report"]
            if isinstance(rep, str):
                print(f"{m}: report failed: {rep}")
                continue
            (t, r), = rep["tables"].items()
            med = ", ".join(f"{k} {f['test']['median']:.2f} (mean {f['test']['mean']:.2f} +- {f['test']['std']:.2f})"
                            for k, f in r["final"].items())
            print(f"{m} vs random at {v['budget_seconds']} CPU s, {v['runs']} runs ({v['dir']}): median test {med}")
            for pw in r["pairwise"]:
                print(f"  {pw['a']} vs {pw['b']}: {pw['test']} p {pw['p']:.3g}, Holm p {pw['p_holm']:.3g}, "
                      f"A12 {pw['a12']:.2f} ({pw['magnitude']})")
            for line in rep["verdicts"]:
                print("  " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
