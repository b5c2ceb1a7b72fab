"""The results store (nasbench_lab/results.py): SQLite rows that survive SIGKILL whole or not at
all, older run-file directories taken in, the documented layout readable without nasbench_lab."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from nasbench_lab import NasbenchError
from nasbench_lab.experiment import StrategySpec, run_experiment
from nasbench_lab.results import DB, ResultStore
from nasbench_lab.runner import Budget


def _runs(tmp_path, table, n=5):
    out = tmp_path / "new"
    store, res = run_experiment([table], [StrategySpec("rea")], runs=n, seed=2, budget=Budget(queries=20),
                                out=str(out))
    store.close()
    return out, res["results"][("synthetic-nb201", "rea")]


def _plain(recs):
    out = []
    for r in recs:
        d = r.to_dict()
        d["meta"] = {k: v for k, v in d["meta"].items() if k != "wall_seconds"}
        out.append(d)
    return out


def test_documented_layout_reads_with_sqlite3_and_numpy(tmp_path, synthetic_table_path):
    out, recs = _runs(tmp_path, synthetic_table_path)
    con = sqlite3.connect(out / DB)
    assert con.execute("SELECT value FROM info WHERE key='layout'").fetchone() == ("nasbench_lab.results/2",)
    rows = con.execute("SELECT run, seed, n_queries, final_test, final_arch, meta, arch, incumbent_test "
                       "FROM runs WHERE table_name='synthetic-nb201' AND strategy='rea' ORDER BY run").fetchall()
    assert [r[0] for r in rows] == list(range(5))
    for (run, seed, nq, ft, fa, meta, arch, it), rec in zip(rows, recs):
        assert seed == 2 and nq == rec.n_queries == 20 and json.loads(meta)["run"] == run
        assert np.array_equal(np.frombuffer(arch, "<i4"), rec.arch)
        assert np.frombuffer(it, "<f8")[-1] == ft == rec.final["test"] and fa == rec.final["arch"]


def test_old_run_file_directory_is_taken_in(tmp_path, synthetic_table_path):
    """A directory of the older layout (config.json + runs/<t>/<s>/run-NNNNN.json) is read, and
    a rerun reuses its runs."""
    new, recs = _runs(tmp_path, synthetic_table_path)
    old = tmp_path / "old"
    d = old / "runs" / "synthetic-nb201" / "rea"
    d.mkdir(parents=True)
    (old / "config.json").write_bytes((new / "config.json").read_bytes())
    for r in recs[:3]:
        (d / f"run-{r.meta['run']:05d}.json").write_text(json.dumps(r.to_dict()))
    files = {p: p.read_bytes() for p in d.iterdir()}
    with ResultStore(old) as store:
        got = store.load("synthetic-nb201", "rea")
        assert [r.to_dict() for r in got] == [r.to_dict() for r in recs[:3]]
    store, res = run_experiment([synthetic_table_path], [StrategySpec("rea")], runs=5, seed=2,
                                budget=Budget(queries=20), out=str(old))
    store.close()
    assert res["new_runs"] == 2
    assert _plain(res["results"][("synthetic-nb201", "rea")])[3:] == _plain(recs[3:])
    assert {p: p.read_bytes() for p in d.iterdir()} == files  # the run files are left as they were
    with sqlite3.connect(old / DB) as con:
        assert con.execute("SELECT value FROM info WHERE key='migrated_json_runs'").fetchone() == ("3",)


def test_damaged_old_run_file_is_one_line(tmp_path, synthetic_table_path):
    new, _ = _runs(tmp_path, synthetic_table_path, n=1)
    old = tmp_path / "old"
    (old / "runs" / "synthetic-nb201" / "rea").mkdir(parents=True)
    (old / "config.json").write_bytes((new / "config.json").read_bytes())
    (old / "runs" / "synthetic-nb201" / "rea" / "run-00000.json").write_text('{"meta": ')
    with pytest.raises(NasbenchError, match="run-00000.json is damaged"):
        ResultStore(old)


def test_database_without_config_is_refused(tmp_path, synthetic_table_path):
    out, _ = _runs(tmp_path, synthetic_table_path, n=2)
    (out / "config.json").unlink()
    with pytest.raises(NasbenchError, match="holds runs but no config.json"):
        run_experiment([synthetic_table_path], [StrategySpec("rea")], runs=2, seed=3, budget=Budget(queries=20),
                       out=str(out))


WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from nasbench_lab.results import ResultStore
    from nasbench_lab.runner import RunRecord

    def record(run, n=5000):
        rng = np.random.default_rng(run)
        return RunRecord(meta={"strategy": "s", "table": "t", "run": run, "seed": 0},
                         time=np.cumsum(rng.random(n)), arch=rng.integers(0, 15625, n), epoch=np.full(n, 12),
                         cost=rng.random(n), valid=rng.random(n), incumbent=rng.integers(0, 15625, n),
                         incumbent_valid=rng.random(n), incumbent_test=rng.random(n))

    store = ResultStore(sys.argv[1], {"seed": 0, "tables": {}, "strategies": {}})
    run = 0
    while True:  # until killed; one run per transaction
        store.save(record(run))
        run += 1
""")


def test_sigkill_leaves_every_run_whole_or_absent(tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(out)], stderr=subprocess.PIPE)

    def stored():
        if not (out / DB).is_file():
            return 0
        try:
            with sqlite3.connect(f"file:{out / DB}?mode=ro", uri=True, timeout=30) as con:
                return con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        except sqlite3.OperationalError:
            return 0

    deadline = time.time() + 60
    while stored() < 20 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    assert proc.poll() is None, proc.stderr.read().decode()
    time.sleep(0.037)  # land somewhere inside a later write
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    ns = {}
    exec(WRITER.split("store = ")[0], ns)  # the writer's record(); not its loop
    with ResultStore(out) as store:
        runs = sorted(store.stored_runs("t", "s"))
        assert len(runs) >= 20 and runs == list(range(len(runs)))  # a prefix: nothing half-written
        for got in store.load("t", "s"):
            want = ns["record"](got.meta["run"])
            assert all(np.array_equal(getattr(got, k), getattr(want, k)) for k in ("time", "arch", "incumbent_test"))
        store.save(ns["record"](len(runs)))  # and it takes new runs after the kill
        assert store.count("t", "s") == len(runs) + 1
