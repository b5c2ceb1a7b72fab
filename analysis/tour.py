"""A guided tour of nasbench_lab: space -> table -> a run -> a comparison -> verify.

    python analysis/tour.py OUT_DIR

Runs in well under a minute on a laptop CPU, offline, on the small built-in table
`nb201-3ops-small` (NB201's cell with three ops; 729 cells; trained for real by this
package's numpy backend on MNIST-1D). It prints what it does and writes into OUT_DIR:

    tour_1_landscape.png   how good the cells of the space are (from the table alone)
    tour_2_one_run.png     one run of regularized evolution, query by query
    tour_3_compare.png     final regret of three strategies over 50 paired runs
    compare/report.html    the full comparison report (anytime curves, tests, verdicts)
    verify.json            two table entries retrained live, next to the table's values

Read it top to bottom: each step is a few lines of the public API.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

T0 = time.perf_counter()


def say(text: str) -> None:
    print(f"[{time.perf_counter() - T0:5.1f} s] {text}", flush=True)


def main(out_dir: str) -> dict:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ 1. the search space
    # An architecture is an immutable value: one op per edge of NB201's 4-node cell (6 edges).
    # Its string is NB201's official one. Cells that compute the same function (an edge
    # with op `none` can cut others off) share a canonical key: a strategy that tracks keys
    # never pays twice for the same network.
    from nasbench_lab.spaces.nb201 import NB201_3OPS as space

    arch = space.make([2, 1, 0, 2, 2, 1])
    say(f"space {space.name}: {space.n_decisions} edges x {space.n_options} ops {space.ops} = {space.size} cells")
    say(f"one cell: {space.to_string(arch)}")
    keys = {space.canonical_key(a) for a in space.all_archs()}
    say(f"distinct functions (canonical keys): {len(keys)} of {space.size} cells")

    # ------------------------------------------------------------------ 2. the table
    # A table holds every cell trained once per seed, per epoch: accuracies, losses, costs.
    # A query returns what a researcher would see after training the cell to an epoch,
    # with one of the table's seeds (the honest, noisy default) or their mean.
    from nasbench_lab.tables import open_table

    table = open_table("nb201-3ops-small")
    sch = table.schedule(None)
    say(f"table {table.name}: schedule {sch.name!r}, epochs {list(sch.recorded_epochs)}, seeds {list(sch.seeds)}")
    q = table.query(arch, epoch=3, seed="mean")
    say(f"query(cell, epoch=3, seed='mean'): valid {q.valid_acc:.1f}%, test {q.test_acc:.1f}%, "
        f"cost {q.cost:.2f} s of training + validation")

    # Figure 1: the landscape, from the table alone (seed-mean validation accuracy at the last
    # epoch of every distinct function; duplicates left out so each network counts once).
    idx = np.arange(table.n_archs)
    valid = table.lookup("valid_acc", idx)
    first = {}
    for i in idx:
        first.setdefault(space.canonical_key(space.from_index(int(i))), int(i))
    distinct = np.array(sorted(first.values()))
    n_conv = np.array([space.from_index(int(i)).choices.count(2) for i in distinct])
    from nasbench_lab.plots import save_figure
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    # A few cells are far below the rest (an edge `none` that cuts the input off from the
    # output leaves a network that guesses): they are counted in a note, not drawn, so that
    # the interesting part of the histogram is readable.
    v = valid[distinct]
    lo = float(np.floor(np.percentile(v, 2)))
    shown = v >= lo
    levels = sorted(set(n_conv))
    fig = Figure(figsize=(8, 4.2))
    ax = fig.add_subplot(1, 1, 1)
    ax.hist([v[shown & (n_conv == k)] for k in levels], bins=np.arange(lo, np.ceil(v.max()) + 1, 1.0),
            stacked=True, label=[f"{k} conv3x3 edge{'s' if k != 1 else ''}" for k in levels])
    low = ", ".join(f"{x:.0f}%" for x in sorted(v[~shown]))
    ax.text(0.01, 0.97, f"not shown: {int((~shown).sum())} cells below {lo:.0f}% ({low})", transform=ax.transAxes,
            va="top", fontsize=8)
    ax.set_xlabel("validation accuracy after 3 epochs (%, mean of 3 seeds)")
    ax.set_ylabel("distinct cells")
    ax.set_title(f"{table.name}: the {len(distinct)} distinct cells, by number of conv3x3 edges")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, 0.9))
    save_figure(fig, out / "tour_1_landscape.png", dpi=110)
    best = distinct[np.argmax(valid[distinct])]
    say(f"best cell by mean validation accuracy: {space.to_string(space.from_index(int(best)))} "
        f"({valid[best]:.1f}%); figure: tour_1_landscape.png")

    # ------------------------------------------------------------------ 3. one run
    # The runner asks the strategy for a query, looks it up, charges the simulated clock and
    # tells the strategy the result (validation metrics only: never test). The incumbent is
    # the best cell by observed validation accuracy; it is reported with its test accuracy.
    from nasbench_lab.runner import Budget, run_search

    rec = run_search(table, "rea", seed=0, run=0, budget=Budget(queries=40))
    say(f"one run of 'rea', 40 queries: {rec.time[-1]:.0f} simulated seconds, final incumbent "
        f"{space.to_string(space.from_index(rec.final['arch']))}, test {rec.final['test']:.1f}%")
    # The incumbent is chosen by what the search saw (one seed per cell), so a lucky seed can
    # take over with a lower seed mean: the reported line can go down. That is the honest
    # protocol; a running maximum of test accuracy would be the known mistake.
    fig = Figure(figsize=(8, 4.8))
    ax = fig.add_axes([0.08, 0.25, 0.9, 0.68])
    x = np.arange(1, rec.n_queries + 1)
    ax.plot(x, rec.valid, "o", ms=4, color="0.55", label="observed validation accuracy (one seed)")
    ax.step(x, rec.incumbent_valid, where="post", color="C0", lw=2,
            label="incumbent: validation accuracy (mean of seeds)")
    ax.step(x, rec.incumbent_test, where="post", color="C1", lw=2, ls="--",
            label="incumbent: test accuracy (mean of seeds), the reported number")
    ax.axhline(valid.max(), color="C2", lw=1, ls=":", label="best validation accuracy in the table (mean of seeds)")
    changes = [i for i in range(1, rec.n_queries) if rec.incumbent[i] != rec.incumbent[i - 1]
               and rec.incumbent_valid[i] < rec.incumbent_valid[i - 1]]
    for i in changes[:1]:
        ax.annotate("a lucky seed takes over:\nits mean is lower", xy=(i + 1, rec.valid[i]),
                    xytext=(i + 1 - 12, rec.valid[i] + 1), fontsize=8, arrowprops={"arrowstyle": "->"})
    ax.set_xlabel("query")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(max(0, np.nanmin(rec.valid) - 3), np.nanmax(rec.valid) + 3)
    ax.set_title("one run of regularized evolution (population 10) on the small table")
    fig.legend(*ax.get_legend_handles_labels(), fontsize=8, loc="lower center", ncol=2, frameon=False)
    save_figure(fig, out / "tour_2_one_run.png", dpi=110)
    say("figure: tour_2_one_run.png")

    # ------------------------------------------------------------------ 4. a comparison
    # The main job: many paired runs per strategy (run i of every strategy sees the same table
    # noise), then statistics. This is the `nasbench-lab compare` command, called in-process.
    from nasbench_lab.cli import main as cli

    cmp_dir = out / "compare"
    argv = ["compare", "--table", "nb201-3ops-small", "--strategies", "random,rea,reinforce", "--runs", "50",
            "--seed", "0", "--budget-queries", "20", "--out", str(cmp_dir)]
    say("$ nasbench-lab " + " ".join(argv))
    rc = cli(argv)
    if rc != 0:
        raise SystemExit(f"compare failed with exit status {rc}")
    from nasbench_lab.plots import plot_final
    from nasbench_lab.results import ResultStore

    store = ResultStore(cmp_dir)
    oracle = float(valid.max())
    regrets = {s: [oracle - r.final["valid"] for r in store.load(table.name, s)]
               for s in ("random", "rea", "reinforce")}
    fig = plot_final(regrets, ylabel="final validation regret (percentage points, lower is better)",
                     title="50 paired runs of 20 queries each on nb201-3ops-small")
    save_figure(fig, out / "tour_3_compare.png", dpi=110)
    summary = json.loads((cmp_dir / "summary.json").read_text())
    say(f"report: {cmp_dir / 'report.html'}; figure: tour_3_compare.png")

    # ------------------------------------------------------------------ 5. verify
    # Is the table right? Retrain two random entries live (numpy backend, a fresh seed the
    # table does not hold) and compare with the table's seeds. The same as
    # `nasbench-lab verify --random 2 --seeds 1 --table nb201-3ops-small`.
    from nasbench_lab.verify import verify_random

    ver = verify_random("nb201-3ops-small", 2, 1, seed=0)
    for r in ver["architectures"]:
        say(f"verify {r['arch']}: test accuracy: table {r['table_mean']:.1f} +- {r['table_std']:.1f}, live {r['live_mean']:.1f} "
            f"({'within' if r['within_seed_spread'] else 'OUTSIDE'} the table's seed spread)")
    (out / "verify.json").write_text(json.dumps(ver, indent=1))
    say(f"done; everything is in {out}")
    return {"summary": summary, "verify": ver, "run": rec.to_dict()}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
