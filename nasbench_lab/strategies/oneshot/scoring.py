"""Scoring derived cells with a table, and the glue to the results store.

A one-shot run becomes a `RunRecord` with one row: the clock after it is the search cost
(CPU seconds of supernet training and candidate selection, put on the table's time scale by
`oneshot/clock.py`, the unit of the table's `train_time`), the architecture the derived cell,
its incumbent values the table's seed-mean valid/test accuracy at the schedule's last epoch. The whole `OneShotResult`
(alpha trajectory, per-epoch derived cells) travels in `meta["oneshot"]`, so the report
can put one-shot and multi-trial methods in one comparison and the figures need nothing else.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from nasbench_lab import NasbenchError, __version__
from nasbench_lab.live.protocol import Protocol
from nasbench_lab.runner import RunRecord
from nasbench_lab.spaces.nb201 import OPS
from nasbench_lab.strategies.oneshot.base import PARAMETER_FREE, OneShotResult


def table_protocol(table) -> Protocol:
    """The live-training protocol a table was built with (the data a search must use)."""
    prot = (table.provenance or {}).get("protocol")
    if table.space.name != "nb201" or not isinstance(prot, dict):
        raise NasbenchError(f"table {table.name!r} was not built by the live backend on the NB201 space "
                            "(no training protocol in its provenance), so a one-shot search has no data "
                            "to train on; use a table made by `nasbench-lab build` such as nb201-mnist1d")
    return Protocol.from_dict(prot)


def cell_scores(table, cells: list[str], schedule=None) -> dict:
    """Seed-mean valid and test accuracy (last epoch of `schedule`) of NB201 cell strings."""
    from nasbench_lab.spaces import NB201

    idx = [table.index_of(NB201.from_string(c)) for c in cells]
    sch = table.schedule(schedule).name
    return {"index": idx, "schedule": sch,
            "valid": [float(v) for v in table.lookup("valid_acc", idx, sch)],
            "test": [float(v) for v in table.lookup("test_acc", idx, sch)]}


def to_record(res: OneShotResult, table, run: int, base_seed: int, budget_seconds=None,
              schedule=None, wall_seconds: float = 0.0, time_factor=None) -> RunRecord:
    """The run as a one-row record; its cost is the search's CPU seconds times `time_factor`
    (oneshot/clock.py: this machine against the table's time scale; None: unscaled)."""
    from nasbench_lab.strategies.oneshot.clock import UNSCALED

    tf = time_factor or UNSCALED
    cost = float(res.search_seconds) * tf.factor
    sc = cell_scores(table, [res.arch], schedule)
    sel = res.selection.get("supernet_valid_acc", float("nan"))
    meta = {"strategy": res.method, "params": res.params, "seed": int(base_seed), "run": int(run),
            "table": table.name, "table_hash": table.content_hash, "space": table.space.name,
            "search_schedule": sc["schedule"], "report_schedule": sc["schedule"],
            "budget_seconds": budget_seconds, "budget_queries": None if budget_seconds else 1,
            "software_version": __version__, "kind": "oneshot", "wall_seconds": wall_seconds,
            "cost_unit": "seconds on the table's time scale: CPU seconds of one core here "
                         "(time.process_time, BLAS on one thread) times time_factor",
            "search_cpu_seconds": float(res.search_seconds), "time_factor": tf.to_dict(),
            "oneshot": res.to_dict()}
    last_epoch = table.schedule(sc["schedule"]).recorded_epochs[-1]
    return RunRecord(meta=meta, time=[cost], arch=[sc["index"][0]], epoch=[last_epoch],
                     cost=[cost], valid=[float(sel)], incumbent=[sc["index"][0]],
                     incumbent_valid=sc["valid"], incumbent_test=sc["test"])


def op_histogram(cells: list[str]) -> dict:
    """How often each op appears over the 6 edges of the given cells."""
    from nasbench_lab.spaces import NB201

    c = Counter(o for s in cells for o in NB201.from_string(s).choices)
    return {OPS[k]: int(c.get(k, 0)) for k in range(len(OPS))}


def param_free_share(cells: list[str]) -> float:
    from nasbench_lab.spaces import NB201

    ch = [o for s in cells for o in NB201.from_string(s).choices]
    return float(np.mean([o in PARAMETER_FREE for o in ch])) if ch else float("nan")


def summarize(records: list[RunRecord], table) -> dict:
    """Per method: derived-cell accuracy mean/std over runs, op histogram, cost, and the
    per-epoch trajectory (share of parameter-free ops, table test accuracy of the cell the
    method would report after that many epochs)."""
    results = [OneShotResult.from_dict(r.meta["oneshot"]) for r in records]
    test = np.array([r.incumbent_test[-1] for r in records], dtype=float)
    valid = np.array([r.incumbent_valid[-1] for r in records], dtype=float)
    cost = np.array([r.time[-1] for r in records], dtype=float)
    out = {"runs": len(records), "test_mean": float(test.mean()), "test_std": float(test.std(ddof=1)) if len(test) > 1 else 0.0,
           "valid_mean": float(valid.mean()), "cost_mean": float(cost.mean()),
           "cost_std": float(cost.std(ddof=1)) if len(cost) > 1 else 0.0,
           "ops": op_histogram([r.arch for r in results]),
           "param_free_share": param_free_share([r.arch for r in results]),
           "cells": Counter(r.arch for r in results).most_common(5)}
    per_epoch = [r.derived for r in results if len(r.derived) > 1]
    if per_epoch and len({len(d) for d in per_epoch}) == 1:
        E = len(per_epoch[0])
        share = [param_free_share([d[e] for d in per_epoch]) for e in range(E)]
        acc = [float(np.mean(cell_scores(table, [d[e] for d in per_epoch])["test"])) for e in range(E)]
        out["per_epoch"] = {"param_free_share": share, "test_mean": acc}
    return out
