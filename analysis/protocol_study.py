"""How well a live-training protocol can rank NB201 cells: a rerunnable study (issue 12).

Usage:
    python analysis/protocol_study.py [--cells 120] [--seeds 0,1,2] [--workers 2]
        [--dir analysis/protocol_study] NAME=OVERRIDES [NAME=OVERRIDES ...]

Each candidate is a name and a comma-separated list of overrides of the built-in protocol,
e.g. `noisy8=corr_noise_scale=0.35,iid_noise_scale=0.04,epochs=8,n_valid=3000,n_test=3000`
(`base` alone: the built-in protocol; `table:NAME` reads the same sample from a built
table instead of training it). Every candidate trains the same stratified sample of
distinct cells (stratified by the deciles of the existing built-in table's seed-mean
validation accuracy, so each candidate sees the whole range of the space in proportion)
with every seed. Each finished training is appended to `DIR/NAME.jsonl` at once, so a
stopped study resumes where it stopped; `--report-only` prints from what is stored.

Printed per candidate, each with a 95% bootstrap interval over cells (1,000 resamples):
- seed Spearman: Spearman of final validation accuracy between two seeds (mean over pairs);
- top-half Spearman: cells in the better half on one seed, Spearman between the two
  other seeds on those cells (mean over the three choices of selection seed): an unbiased
  measure of how well the table ranks good cells;
- arch share of variance (one-way random-effects ICC of single runs), overall and in the
  top half (selected on one seed, measured on the other two);
- best minus median of seed-mean final test accuracy (note: the best of a sample of cells
  is lower than the best of the whole space);
- Spearman of epoch-1 / epoch-2 seed-mean validation accuracy vs the final one;
- CPU seconds per training (train epochs + valid/test passes, as the trainer measures them).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasbench_lab.live.protocol import BUILTIN_PROTOCOL, Protocol  # noqa: E402
from nasbench_lab.spaces import NB201  # noqa: E402
from nasbench_lab.tables.resolution import _rho, seed_statistics  # noqa: E402


def _fail(message: str):
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def parse_candidate(spec: str) -> tuple[str, Protocol]:
    name, _, over = spec.partition("=")
    changes = {}
    for kv in filter(None, over.split(",")):
        k, _, v = kv.partition("=")
        if k not in Protocol.__dataclass_fields__:
            _fail(f"unknown protocol field {k!r} in {spec!r}")
        try:
            changes[k] = float(v) if any(c in v for c in ".e") else int(v)
        except ValueError:
            _fail(f"{k}={v!r} in {spec!r} is not a number")
    return name, BUILTIN_PROTOCOL.replace(name=name, **changes)


def sample_cells(n_cells: int, seed: int = 7) -> list[int]:
    """Representative arch indices of `n_cells` distinct cells, stratified by deciles of
    the built-in table's seed-mean final validation accuracy (equal numbers per decile)."""
    from nasbench_lab.tables import open_table

    with open_table("nb201-mnist1d") as t:
        sch = t.schedule(None)
        v = np.nanmean(t.array(sch.name, "valid_acc")[:, :, -1], axis=1)
    first: dict[str, int] = {}
    for i in range(NB201.size):
        first.setdefault(NB201.canonical_key(NB201.from_index(i)), i)
    reps = np.array(sorted(first.values()))
    order = reps[np.argsort(v[reps], kind="stable")]
    rng = np.random.default_rng(seed)
    strata = np.array_split(order, 10)
    per = [n_cells // 10 + (1 if j < n_cells % 10 else 0) for j in range(10)]
    picked = [int(i) for s, k in zip(strata, per) for i in rng.choice(s, k, replace=False)]
    return sorted(picked)


def _train(index: int, protocol_dict: dict, seeds: list[int]) -> list[dict]:
    """All missing seeds of one cell in one vectorised pass (bitwise equal to training them
    one by one, see `train_seeds`)."""
    from nasbench_lab.live.trainer import train_seeds

    rs = train_seeds(NB201.from_index(index), Protocol.from_dict(protocol_dict), seeds=seeds)
    return [{"index": index, "seed": r.seed,
             **{k: [float(x) for x in getattr(r, k)] for k in
                ("valid_acc", "valid_loss", "test_acc", "train_time", "valid_time", "test_time")}}
            for r in rs]


def run_candidate(path: Path, protocol: Protocol, cells: list[int], seeds: list[int],
                  workers: int) -> None:
    done = set()
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                r = json.loads(line)
                done.add((r["index"], r["seed"]))
            except (ValueError, KeyError):
                continue  # a line cut by a kill: trained again
    todo = [(i, [s for s in seeds if (i, s) not in done]) for i in cells]
    todo = [(i, ss) for i, ss in todo if ss]
    if not todo:
        return
    from nasbench_lab.parallel import parallel_map

    pd = protocol.to_dict()
    with open(path, "a") as f:
        for n, rs in enumerate(parallel_map(_train, [(i, pd, ss) for i, ss in todo], workers), 1):
            f.write("".join(json.dumps(r) + "\n" for r in rs))
            f.flush()
            if n % 20 == 0:
                print(f"  {protocol.name}: {n}/{len(todo)} cells trained", flush=True)


def load(path: Path, cells: list[int], seeds: list[int]):
    rows = {}
    for line in path.read_text().splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        rows[(r["index"], r["seed"])] = r
    keep = [c for c in cells if all((c, s) in rows for s in seeds)]
    if len(keep) < 10:
        return None
    E = len(rows[(keep[0], seeds[0])]["valid_acc"])
    va = np.array([[rows[(c, s)]["valid_acc"] for c in keep] for s in seeds])  # (S, C, E)
    vl = np.array([[rows[(c, s)]["valid_loss"] for c in keep] for s in seeds])
    te = np.array([[rows[(c, s)]["test_acc"][-1] for c in keep] for s in seeds])
    cpu = np.array([[sum(rows[(c, s)]["train_time"]) + sum(rows[(c, s)]["valid_time"])
                     + sum(rows[(c, s)]["test_time"]) for c in keep] for s in seeds])
    return {"valid": va, "valid_loss": vl, "test": te, "cpu": cpu, "epochs": E, "cells": keep}


def load_table(name: str, cells: list[int], seeds: list[int]):
    """The same arrays as `load`, read from a built table (no training)."""
    from nasbench_lab.tables import open_table

    with open_table(name) as t:
        sch = t.schedule(None)
        cols = [sch.seeds.index(str(s)) for s in seeds]
        get = {m: t.array(sch.name, m)[cells][:, cols] for m in
               ("valid_acc", "valid_loss", "test_acc", "train_time", "valid_time", "test_time")}
    sw = lambda a: np.swapaxes(a, 0, 1)  # noqa: E731  (C, S, E) -> (S, C, E)
    cpu = get["train_time"][..., -1] + get["valid_time"].sum(-1) + get["test_time"].sum(-1)
    return {"valid": sw(get["valid_acc"]).astype(float), "valid_loss": sw(get["valid_loss"]).astype(float),
            "test": sw(get["test_acc"][..., -1]).astype(float), "cpu": cpu.T.astype(float),
            "epochs": get["valid_acc"].shape[-1], "cells": cells}


def statistics(d: dict) -> dict:
    """The table-resolution statistics of the sample plus what only a study can show."""
    v = d["valid"][:, :, -1]                     # (S, C) final validation accuracy
    out = seed_statistics(v, d["test"])
    L = -d["valid_loss"][:, :, -1]               # ranking by validation loss instead
    out["top_half_spearman_loss"] = seed_statistics(L, d["test"]).get("top_half_spearman", np.nan)
    vm = d["valid"].mean(0)                      # (C, E)
    out["epoch1_vs_final"] = _rho(vm[:, 0], vm[:, -1])
    out["epoch2_vs_final"] = _rho(vm[:, 1], vm[:, -1]) if d["epochs"] > 1 else np.nan
    out["median_test"] = float(np.median(d["test"].mean(0)))
    out["cpu_per_training"] = float(d["cpu"].mean())
    return out


def bootstrap(d: dict, reps: int = 1000, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    C = d["valid"].shape[1]
    draws = []
    for _ in range(reps):
        idx = rng.integers(0, C, C)
        sub = {k: (v[:, idx] if isinstance(v, np.ndarray) else v) for k, v in d.items()}
        draws.append(statistics(sub))
    return {k: (float(np.nanpercentile([x[k] for x in draws], 2.5)),
                float(np.nanpercentile([x[k] for x in draws], 97.5)))
            for k in draws[0] if isinstance(draws[0][k], float)}


ROWS = [("seed Spearman (final valid acc)", "seed_spearman", 0.75),
        ("top-half Spearman", "top_half_spearman", 0.6),
        ("top-half Spearman, ranked by valid loss", "top_half_spearman_loss", None),
        ("arch share of variance", "arch_share", None),
        ("arch share of variance, top half", "arch_share_top_half", 0.3),
        ("best - median seed-mean test acc (sample)", "best_minus_median", 3.0),
        ("epoch-1 vs final Spearman", "epoch1_vs_final", None),
        ("epoch-2 vs final Spearman", "epoch2_vs_final", 0.6),
        ("median seed-mean test acc", "median_test", None),
        ("seed noise (std of one run, points)", "seed_noise", None),
        ("CPU seconds per training", "cpu_per_training", None)]


def report(name: str, protocol: Protocol, d: dict) -> dict:
    st, ci = statistics(d), bootstrap(d)
    diff = {k: v for k, v in protocol.to_dict().items() if BUILTIN_PROTOCOL.to_dict().get(k) != v
            and k != "name"}
    print(f"\n== {name}: {len(d['cells'])} cells x {d['valid'].shape[0]} seeds; changes vs "
          f"builtin-mnist1d: {diff or 'none'}")
    for label, key, aim in ROWS:
        lo, hi = ci[key]
        mark = "" if aim is None else ("  aim >= %g: %s" % (aim, "met" if st[key] >= aim else "not met"))
        print(f"  {label:44s} {st[key]:7.3f}  [{lo:6.3f}, {hi:6.3f}]{mark}")
    return {"name": name, "changes": diff, "n_cells": len(d["cells"]), "stats": st, "ci": ci}


def plot_frontier(results: list[dict], path: str, cpu_overrides: list[str]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cpu = dict((k, float(v)) for k, v in (c.split("=") for c in cpu_overrides))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, aim, label in ((axes[0], "top_half_spearman", 0.6, "top-half seed Spearman"),
                                (axes[1], "seed_spearman", 0.75, "seed Spearman (all cells)")):
        for r in results:
            x = cpu.get(r["name"], r["stats"]["cpu_per_training"])
            y, (lo, hi) = r["stats"][key], r["ci"][key]
            ax.errorbar([x], [y], yerr=[[y - lo], [hi - y]], fmt="o", capsize=4)
            ax.annotate(r["name"], (x, y), textcoords="offset points", xytext=(6, 4), fontsize=8)
        ax.axhline(aim, color="grey", ls="--", lw=1)
        ax.text(ax.get_xlim()[0], aim, f" aim {aim}", va="bottom", fontsize=8, color="grey")
        ax.set_xlabel("CPU seconds per training (one core)")
        ax.set_ylabel(label + " (95% bootstrap CI)")
    fig.suptitle("Protocol study: ranking reliability against cost (120 cells x 3 seeds each)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("candidates", nargs="+", help="NAME=field=value,field=value (or NAME alone: the built-in protocol)")
    ap.add_argument("--cells", type=int, default=120, help="distinct cells in the sample (default 120)")
    ap.add_argument("--seeds", default="0,1,2", help="training seeds (default 0,1,2)")
    ap.add_argument("--workers", type=int, default=2, help="parallel trainings (default 2)")
    ap.add_argument("--dir", default=str(ROOT / "analysis" / "protocol_study"),
                    help="where the per-candidate JSONL results are kept")
    ap.add_argument("--report-only", action="store_true", help="print from stored results, train nothing")
    ap.add_argument("--json", help="also write the statistics of every candidate to this JSON file")
    ap.add_argument("--frontier", help="write a PNG: top-half Spearman (95%% CI) against CPU seconds per training")
    ap.add_argument("--cpu", action="append", default=[], metavar="NAME=SECONDS",
                    help="CPU seconds per training to plot for a candidate whose stored times are wall "
                         "times on a busy machine (measured separately; repeatable)")
    a = ap.parse_args(argv)
    seeds = [int(s) for s in a.seeds.split(",")]
    cells = sample_cells(a.cells)
    out_dir = Path(a.dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for spec in a.candidates:
        if spec.startswith("table:"):  # statistics of a built table on the same sample
            d = load_table(spec[6:], cells, seeds)
            results.append(report(spec, BUILTIN_PROTOCOL, d))
            continue
        name, p = parse_candidate(spec)
        path = out_dir / f"{name}.jsonl"
        (out_dir / f"{name}.protocol.json").write_text(json.dumps(p.to_dict(), sort_keys=True))
        if not a.report_only:
            run_candidate(path, p, cells, seeds, a.workers)
        d = load(path, cells, seeds) if path.exists() else None
        if d is None:
            print(f"\n== {name}: fewer than 10 complete cells stored")
            continue
        results.append(report(name, p, d))
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))
    if a.frontier and results:
        plot_frontier(results, a.frontier, a.cpu)
        print(f"\nfrontier figure: {a.frontier}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
