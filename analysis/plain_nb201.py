"""NAS-Bench-201's search protocol in plain numpy: the yardstick for nasbench_lab's runner.

Usage: python analysis/plain_nb201.py [NB201_DIR] [--runs 500] [--seed 0]

Reads the two CSV exports in NB201_DIR (default ../shared/nb201: nb201_12ep.csv and
nb201_cifar10valid_200ep.csv) with the csv module, then runs `runs` runs each of random search
(deduplicated by canonical key, up to 100 resamples) and regularized evolution (population 10,
tournament 3, NAS-Bench-201's mutation) under the protocol of ../shared/nb201/README.md: a query
returns the 12-epoch validation accuracy and costs 12 x train-per-time + valid-per-time
simulated seconds, an architecture already trained costs only the validation pass, the search
stops before a query that would pass 12,000 s, the incumbent (best observed validation
accuracy) is reported with its 200-epoch validation and test accuracy. Every run keeps its full
trajectory, as nasbench_lab's runner does. The random streams are nasbench_lab's (run i of seed
s draws from SeedSequence([s, i]).spawn(2)[0]), so the runs are the same runs as
`nasbench-lab run --table nb201-cifar10-valid --search-schedule 12 --report-schedule 200`.

Nothing from nasbench_lab is imported: the only file of it read is the array of canonical-key
classes (nasbench_lab/spaces/nb201_canonical_class.npy, by path), which deduplication needs.
`random_search` and `evolution` take plain lists, so analysis/bench_strategies.py runs them on
the very arrays the runner reads and checks that the trajectories are identical.
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import deque
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
INCOMING = {1: [0], 2: [1, 2], 3: [3, 4, 5]}  # node -> its edges, NAS-Bench-201's edge order


def parse_arch(s: str) -> tuple:
    """'|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' -> the six op indices."""
    return tuple(OPS.index(tok.split("~")[0]) for tok in s.strip("|").replace("|+|", "|").split("|"))


def load_csv(d: Path) -> dict:
    with open(d / "nb201_12ep.csv") as f:
        rows12 = list(csv.DictReader(f))
    with open(d / "nb201_cifar10valid_200ep.csv") as f:
        rows200 = list(csv.DictReader(f))
    n = len(rows200)
    index_of = {parse_arch(r["arch_str"]): int(r["index"]) for r in rows200}
    valid = [0.0] * n
    for r in rows12:
        valid[int(r["index"])] = float(r["cifar10-val"])
    tt, vt, rv, rt = ([0.0] * n for _ in range(4))
    for r in rows200:
        i = int(r["index"])
        tt[i], vt[i] = 12 * float(r["train-per-time"]), float(r["valid-per-time"])
        rv[i], rt[i] = float(r["valid-accuracy"]), float(r["test-accuracy"])
    canon = np.load(HERE.parent / "nasbench_lab" / "spaces" / "nb201_canonical_class.npy").tolist()
    return {"index_of": index_of, "canon": canon, "valid": valid, "train_time": tt, "valid_time": vt,
            "report_valid": rv, "report_test": rt}


def _rng(seed: int, run: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, run]).spawn(2)[0])


def _record(traj, clock, idx, cost, v, best, rv, rt):
    traj[0].append(clock)
    traj[1].append(idx)
    traj[2].append(cost)
    traj[3].append(v)
    traj[4].append(best)
    traj[5].append(rv[best])
    traj[6].append(rt[best])


def random_search(data: dict, rng, budget: float, max_tries: int = 100) -> list:
    """One run; returns [time, arch, cost, valid, incumbent, incumbent_valid, incumbent_test] lists."""
    index_of, canon, va, tt, vt = data["index_of"], data["canon"], data["valid"], data["train_time"], data["valid_time"]
    rv, rt = data["report_valid"], data["report_test"]
    traj = [[] for _ in range(7)]
    seen, trained = set(), set()
    clock, best_v, best = 0.0, -np.inf, -1
    while True:
        idx = index_of[tuple(rng.integers(0, 5, 6).tolist())]
        for _ in range(max_tries):
            if canon[idx] not in seen:
                break
            idx = index_of[tuple(rng.integers(0, 5, 6).tolist())]
        cost = vt[idx] if idx in trained else tt[idx] + vt[idx]
        if clock + cost > budget:
            return traj
        clock += cost
        trained.add(idx)
        seen.add(canon[idx])
        v = va[idx]
        if v > best_v or best < 0:
            best_v, best = v, idx
        _record(traj, clock, idx, cost, v, best, rv, rt)


def evolution(data: dict, rng, budget: float, population: int = 10, sample_size: int = 3) -> list:
    """One run of regularized evolution; same trajectory lists as random_search."""
    index_of, va, tt, vt = data["index_of"], data["valid"], data["train_time"], data["valid_time"]
    rv, rt = data["report_valid"], data["report_test"]
    traj = [[] for _ in range(7)]
    pop: deque = deque()
    trained = set()
    clock, best_v, best = 0.0, -np.inf, -1
    while True:
        if len(pop) < population:
            arch = tuple(rng.integers(0, 5, 6).tolist())
        else:
            pick = rng.choice(len(pop), sample_size, replace=False)
            parent = max((pop[i] for i in pick), key=lambda m: m[1])[0]
            node = int(rng.integers(1, 4))
            e = INCOMING[node][int(rng.integers(len(INCOMING[node])))]
            new = int(rng.integers(4))
            new += new >= parent[e]
            arch = parent[:e] + (new,) + parent[e + 1:]
        idx = index_of[arch]
        cost = vt[idx] if idx in trained else tt[idx] + vt[idx]
        if clock + cost > budget:
            return traj
        clock += cost
        trained.add(idx)
        v = va[idx]
        if v > best_v or best < 0:
            best_v, best = v, idx
        _record(traj, clock, idx, cost, v, best, rv, rt)
        pop.append((arch, v))
        if len(pop) > population:
            pop.popleft()


def main(argv=None) -> int:
    t0 = time.perf_counter()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("nb201_dir", nargs="?", default=str(HERE.parent.parent / "shared" / "nb201"))
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    d = Path(args.nb201_dir)
    if not (d / "nb201_12ep.csv").is_file():
        print(f"{d} holds no NAS-Bench-201 CSV exports; nothing to run")
        return 0
    data = load_csv(d)
    for name, fn in (("random", random_search), ("rea", evolution)):
        runs = [fn(data, _rng(args.seed, r), 12000.0) for r in range(args.runs)]
        test = np.array([t[6][-1] for t in runs])
        valid = np.array([t[5][-1] for t in runs])
        print(f"{name:7s} {args.runs} runs: valid {valid.mean():.2f} +- {valid.std(ddof=1):.2f}  "
              f"test {test.mean():.2f} +- {test.std(ddof=1):.2f}  queries/run {np.mean([len(t[0]) for t in runs]):.1f}")
    print(f"wall {time.perf_counter() - t0:.2f} s after interpreter start")
    return 0


if __name__ == "__main__":
    sys.exit(main())
