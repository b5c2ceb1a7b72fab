"""Re-train table entries with the live backend and compare them with the table.

`verify_results` takes the top-K incumbents of a stored comparison; `verify_random` takes K
random cells of a table. Either retrains each on fresh seeds (seeds the table does not hold)
under the table's own protocol and reports, per architecture, the table's seed mean and
spread against the live result, and overall: Spearman rank correlation of table vs live
means and the share of live means within the table's seed spread (|live - table mean| <=
2 x the table's seed std, or within the table's min..max over seeds), and the mean signed
difference live - table: for top incumbents it is expected to be negative, because they were
selected on noisy table values (regression to the mean, the "winner's curse").
"""
from __future__ import annotations

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.tables.table import Table, open_table


def _protocol_of(table: Table):
    from nasbench_lab.live.protocol import Protocol

    p = table.provenance.get("protocol")
    if not p:
        raise NasbenchError(f"table {table.name!r} was not built by nasbench_lab's trainer (no protocol "
                            "in its provenance); verify needs a table made by `nasbench-lab build`")
    return Protocol.from_dict(p)


def verify_indices(table: Table, indices: list[int], seeds: int, metric: str = "test_acc",
                   workers: int = 1, fresh_seed0: int = 1000) -> dict:
    if seeds <= 0:
        raise NasbenchError(f"--seeds must be a positive integer, got {seeds}")
    protocol = _protocol_of(table)
    sch = table.schedule(None)
    used = {int(s) for s in sch.seeds}
    fresh = [s for s in range(fresh_seed0, fresh_seed0 + seeds + len(used)) if s not in used][:seeds]
    from nasbench_lab.tables.build import train_job

    calls = [(str(i), s, int(i), table.space.name, protocol.to_dict()) for i in indices for s in fresh]
    from nasbench_lab.parallel import parallel_map

    results = list(parallel_map(train_job, calls, workers))
    live = {}
    for r in results:
        live.setdefault(int(r["key"]), []).append(float(r[metric][-1]))
    arr = table.array(sch.name, metric)[:, :, -1]
    present = table.present(sch.name)
    rows = []
    for i in indices:
        tv = arr[i][present[i]].astype(float)
        lv = np.array(live[int(i)])
        tm, ts = float(tv.mean()), float(tv.std(ddof=1)) if tv.size > 1 else 0.0
        lm = float(lv.mean())
        within = abs(lm - tm) <= 2 * ts or (tv.min() <= lm <= tv.max())
        rows.append({"index": int(i), "arch": table.space.to_string(table.space.from_index(int(i))),
                     "table_mean": tm, "table_std": ts, "table_seeds": tv.tolist(),
                     "live_mean": lm, "live_values": lv.tolist(), "difference": lm - tm,
                     "within_seed_spread": bool(within)})
    tm = np.array([r["table_mean"] for r in rows])
    lm = np.array([r["live_mean"] for r in rows])
    rho, why = None, None
    if len(rows) < 3:
        why = f"only {len(rows)} architecture{'s' if len(rows) != 1 else ''}; a rank correlation needs 3"
    elif np.ptp(tm) == 0:
        why = f"all {len(rows)} table values are tied ({tm[0]:.2f}): there is no order to compare"
    elif np.ptp(lm) == 0:
        why = f"all {len(rows)} live values are tied ({lm[0]:.2f}): there is no order to compare"
    else:
        from scipy.stats import spearmanr

        rho = float(spearmanr(tm, lm).statistic)
    return {"table": table.name, "metric": metric, "fresh_seeds": fresh, "architectures": rows,
            "spearman": rho, "spearman_undefined_because": why, "share_within_spread": float(np.mean([r["within_seed_spread"] for r in rows])),
            "mean_abs_difference": float(np.mean(np.abs(lm - tm))),
            "mean_difference": float(np.mean(lm - tm))}


def verify_random(table_name: str, k: int, seeds: int, seed: int = 0, workers: int = 1) -> dict:
    if k <= 0:
        raise NasbenchError(f"--random must be a positive integer, got {k}")
    t = open_table(table_name)
    sch = t.schedule(None)
    trained = np.flatnonzero(t.present(sch.name).all(1))
    if trained.size == 0:
        raise NasbenchError(f"table {t.name!r} has no fully trained entry to verify")
    rng = np.random.default_rng(seed)
    idx = sorted(rng.choice(trained, min(k, trained.size), replace=False).tolist())
    return verify_indices(t, idx, seeds, workers=workers)


def verify_results(results_dir: str, top: int, seeds: int, workers: int = 1) -> dict:
    from nasbench_lab.results import ResultStore

    if top <= 0:
        raise NasbenchError(f"--top must be a positive integer, got {top}")
    store = ResultStore(results_dir)
    tables = store.tables()
    if not tables:
        raise NasbenchError(f"{results_dir} holds no finished runs")
    out = {"tables": {}}
    for tname in tables:
        path = store.config["tables"][tname]["path"]
        t = open_table(path)
        incumbents = {}
        for s in store.strategies(tname):
            for r in store.load(tname, s):
                if r.n_queries:
                    i = int(r.incumbent[-1])
                    incumbents[i] = incumbents.get(i, 0) + 1
        means = t.lookup("valid_acc", list(incumbents), None)
        order = sorted(incumbents, key=lambda i: -means[list(incumbents).index(i)])[:top]
        res = verify_indices(t, order, seeds, workers=workers)
        for row in res["architectures"]:
            row["times_chosen"] = incumbents[row["index"]]
        out["tables"][tname] = res
    return out
