"""Retrain K stored entries of a built table with their own seeds and compare, epoch by epoch.

On the machine (CPU model, BLAS kernel, numpy) that trained an entry the retraining is
bitwise equal; on another CPU the rounding differs and a training diverges by chaos, so this
prints how far: per entry the final valid accuracy stored vs retrained, whether every metric is
bitwise equal, whether the table records this machine as the one that trained it
(`Table.built_on`; tables built before that record say "?"), and the final difference against
the table's seed noise for that cell.

    python analysis/reproduce_entries.py nb201-mnist1d --k 12
    python analysis/reproduce_entries.py datasets/nb201-mnist1d-hard.h5 --k 6 --same-machine
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.tables.build import machine_description, train_job
from nasbench_lab.tables.table import open_table


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table")
    ap.add_argument("--k", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0, help="sampling seed of the entries")
    ap.add_argument("--same-machine", action="store_true",
                    help="only entries the table records as trained on this machine")
    a = ap.parse_args(argv)
    if a.k < 1:
        ap.error(f"--k must be a positive number of entries, got {a.k}")
    try:
        return _run(a)
    except NasbenchError as e:  # a missing or damaged table: one line, as the CLI
        print(f"reproduce_entries: error: {e}", file=sys.stderr)
        return 2


def _distinct(t, indices) -> np.ndarray:
    """One index per canonical key: the indices of a key share one entry (the build trains it
    once per seed), so counting each of them retrained and counted one entry several times."""
    first: dict[str, int] = {}
    for i in indices:
        first.setdefault(t.space.canonical_key(t.space.from_index(int(i))), int(i))
    return np.array(sorted(first.values()), dtype=np.int64)


def _run(a) -> int:
    t = open_table(a.table)
    sch = t.schedule(None)
    present = t.present(sch.name)
    codes, machines = t.built_on(sch.name)
    here = machine_description()
    mine = machines.index(here) if here in machines else -2
    full = _distinct(t, np.flatnonzero(present.all(axis=1)))
    rng = np.random.default_rng(a.seed)
    order = rng.permutation(len(full) * len(sch.seeds))  # (cell, seed) pairs, cell-major
    pairs = [(int(full[j // len(sch.seeds)]), j % len(sch.seeds)) for j in order]
    if a.same_machine:
        pairs = [(i, c) for i, c in pairs if codes[i, c] == mine]
    picks = pairs[:a.k]
    va = t.array(sch.name, "valid_acc")
    print(f"{t.name}: {len(picks)} entries of {len(full)} distinct fully trained cells; this machine: {here}")
    print(f"  the table's entries were trained on: {t.provenance.get('built_on', '? (not recorded)')}")
    print(f"{'index':>6} {'seed':>4} {'stored':>7} {'retrain':>7} {'diff':>6} {'cell sd':>7} bitwise here")
    diffs, sds, same, same_here, n_here = [], [], 0, 0, 0
    t0 = time.process_time()
    for i, si in picks:
        s = int(sch.seeds[si])
        r = train_job("check", s, int(i), t.space.name, sch.protocol)
        stored = va[i, si]
        eq = bool(np.array_equal(np.asarray(r["valid_acc"], np.float32), stored))
        same += eq
        built_here = "yes" if codes[i, si] == mine else "?" if codes[i, si] < 0 else "no"
        n_here += built_here == "yes"
        same_here += eq and built_here == "yes"
        d = float(r["valid_acc"][-1] - stored[-1])
        sd = float(np.std(va[i, :, -1], ddof=1)) if len(sch.seeds) > 1 else float("nan")  # one seed: no spread
        diffs.append(d)
        sds.append(sd)
        print(f"{i:>6} {s:>4} {stored[-1]:>7.2f} {r['valid_acc'][-1]:>7.2f} {d:>+6.2f} {sd:>7.2f} {eq!s:>7} {built_here}")
    if not picks:
        print("no entry to retrain" + (" was trained on this machine" if a.same_machine else ""))
        return 1
    diffs = np.array(diffs)
    print(f"bitwise equal: {same}/{len(picks)} ({same_here}/{n_here} of those trained on this machine); final valid diff: mean {diffs.mean():+.2f}, "
          f"mean |diff| {np.abs(diffs).mean():.2f}, max |diff| {np.abs(diffs).max():.2f}; "
          f"mean seed sd of these cells {np.mean(sds):.2f}; {time.process_time() - t0:.0f} CPU s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
