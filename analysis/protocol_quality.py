"""Quality of a live-training protocol on a random sample of distinct NB201 cells.

Usage: python analysis/protocol_quality.py base "epochs=6,batch_size=128,lr=0.1" ...
Each argument is a set of overrides of the built-in protocol ("base": none). For 40 random
canonical keys x 2 seeds it prints CPU seconds per training, the Spearman rank correlation of
final validation accuracy between the two seeds, seed noise (std of a single run), spread
(std of arch means) and the median and best mean test accuracy."""
import sys
import time

import numpy as np
from scipy.stats import spearmanr

from nasbench_lab.live.protocol import BUILTIN_PROTOCOL
from nasbench_lab.live.trainer import train_many
from nasbench_lab.tables.build import make_plan
from nasbench_lab.spaces import NB201
plan = make_plan(NB201, [0])
rng = np.random.default_rng(1)
keys = [plan.keys[i] for i in rng.choice(len(plan.keys), 40, replace=False)]
archs = [NB201.from_index(plan.representative[k]) for k in keys]
for spec in sys.argv[1:]:
    ch = dict(kv.split("=") for kv in spec.split(",")) if spec != "base" else {}
    ch = {k: (float(v) if "." in v else int(v)) for k, v in ch.items()}
    p = BUILTIN_PROTOCOL.replace(**ch)
    t = time.perf_counter()
    res = train_many([(a, s) for s in (0, 1) for a in archs], p, n_jobs=2)
    wall = time.perf_counter() - t
    v = np.array([r.valid_acc[-1] for r in res]).reshape(2, -1)
    te = np.array([r.test_acc[-1] for r in res]).reshape(2, -1)
    cpu = np.mean([r.train_time.sum() + r.valid_time.sum() + r.test_time.sum() for r in res])
    good = v.mean(0) > 50
    print(f"{spec}: wall {wall:.1f}s cpu/training {cpu:.2f}s | valid spearman all {spearmanr(v[0], v[1]).statistic:.3f} "
          f"connected {spearmanr(v[0][good], v[1][good]).statistic:.3f} | noise {np.std(v[0]-v[1])/np.sqrt(2):.2f} "
          f"spread {v.mean(0)[good].std():.2f} | median {np.median(te.mean(0)):.1f} best {te.mean(0).max():.1f}", flush=True)
