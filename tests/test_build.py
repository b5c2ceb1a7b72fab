import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from nasbench_lab import NasbenchError
from nasbench_lab.live.protocol import Protocol
from nasbench_lab.tables import Table
from nasbench_lab.tables.build import build_table, make_plan

TINY = Protocol(name="tiny-test", n_train=256, n_valid=128, n_test=128, epochs=2, batch_size=64,
                channels=4, latency_repeats=1)
SCRIPT = """
import sys
from nasbench_lab.live.protocol import Protocol
from nasbench_lab.tables.build import build_table
p = Protocol.from_dict({proto!r})
build_table(sys.argv[1], protocol=p, seeds=[0, 1], space="nb201-3ops", limit=12, workers=1,
            progress=False, log=lambda *a: None)
"""
DETERMINISTIC = ("train_acc", "train_loss", "valid_acc", "valid_loss", "test_acc", "test_loss")


def _arrays(path):
    t = Table(path)
    s = t.schedule(None).name
    return t, {m: t.array(s, m) for m in DETERMINISTIC}, t.present(s)


def test_plan_dedups_by_canonical_key():
    plan = make_plan(__import__("nasbench_lab.spaces", fromlist=["x"]).NB201_3OPS, [0, 1])
    assert len(plan.keys) == 99 and sum(len(v) for v in plan.members.values()) == 729
    assert len(plan.jobs) == 198 and plan.jobs[0][1] == 0 and plan.jobs[-1][1] == 1  # seed-major
    with pytest.raises(NasbenchError):
        make_plan(plan.space, [0, 0])


@pytest.mark.slow
def test_killed_build_resumes_to_the_same_table(tmp_path):
    script = SCRIPT.format(proto=TINY.to_dict())
    ref = tmp_path / "ref" / "t.h5"
    ref.parent.mkdir()
    subprocess.run([sys.executable, "-c", script, str(ref)], check=True)
    out = tmp_path / "kill" / "t.h5"
    out.parent.mkdir()
    parts_dir = out.parent / "t.h5.parts"
    rng = np.random.default_rng(0)
    kills = 0
    for attempt in range(20):
        before = len(list(parts_dir.glob("*.npz"))) if parts_dir.exists() else 0
        target = before + int(rng.integers(1, 3))
        proc = subprocess.Popen([sys.executable, "-c", script, str(out)])
        while proc.poll() is None and (len(list(parts_dir.glob("*.npz"))) if parts_dir.exists() else 0) < target:
            time.sleep(0.02)
        time.sleep(float(rng.uniform(0, 0.3)))  # a random moment: mid-training, mid-write or mid-assembly
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
        else:
            assert proc.returncode == 0
            break
    assert kills >= 3
    if not out.exists():
        subprocess.run([sys.executable, "-c", script, str(out)], check=True)
    t_ref, a_ref, p_ref = _arrays(ref)
    t_out, a_out, p_out = _arrays(out)
    assert np.array_equal(p_ref, p_out)
    for m in DETERMINISTIC:
        assert np.array_equal(a_ref[m], a_out[m], equal_nan=True), m
    assert t_out.provenance["complete"] and t_out.provenance["trainings_done"] == 24
    assert len(list(parts_dir.glob("*.npz"))) == 24
    assert t_out.check() == []


def test_build_with_dask_local_cluster(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        s = build_table(tmp_path / "d.h5", protocol=TINY, seeds=[0], space="nb201-3ops", limit=4,
                        dask_scheduler=cluster.scheduler_address, progress=False, log=lambda *a: None)
    assert s["done"] == 4 == s["total"]
    local = build_table(tmp_path / "l.h5", protocol=TINY, seeds=[0], space="nb201-3ops", limit=4,
                        progress=False, log=lambda *a: None)
    _, a, p = _arrays(tmp_path / "d.h5")
    _, b, q = _arrays(tmp_path / "l.h5")
    assert np.array_equal(p, q) and all(np.array_equal(a[m], b[m], equal_nan=True) for m in DETERMINISTIC)


def test_build_refuses_other_protocol_in_same_journal(tmp_path):
    build_table(tmp_path / "x.h5", protocol=TINY, seeds=[0], space="nb201-3ops", limit=2, progress=False,
                log=lambda *a: None)
    with pytest.raises(NasbenchError, match="another protocol"):
        build_table(tmp_path / "x.h5", protocol=TINY.replace(epochs=3), seeds=[0], space="nb201-3ops",
                    limit=2, progress=False, log=lambda *a: None)


def test_grouped_build_is_the_seed_by_seed_build_and_resumes_between_parts(tmp_path):
    """Seeds of a cell trained in one vectorised job give the single-seed entries bit for
    bit; a build stopped between the parts of a group (here: parts deleted, and a build cut
    by max_jobs mid-cell) resumes to the same table."""
    kw = dict(protocol=TINY, seeds=[0, 1, 2], space="nb201-3ops", limit=2, progress=False, log=lambda *a: None)
    single = build_table(tmp_path / "single.h5", group_seeds=False, **kw)
    grouped = build_table(tmp_path / "grouped.h5", **kw)
    assert single["done"] == grouped["done"] == 6
    t_s, a_s, p_s = _arrays(tmp_path / "single.h5")
    t_g, a_g, p_g = _arrays(tmp_path / "grouped.h5")
    assert np.array_equal(p_s, p_g)
    for m in DETERMINISTIC:
        assert np.array_equal(a_s[m], a_g[m], equal_nan=True), m
    sch = t_g.schedule(None).name
    tt = t_g.array(sch, "train_time")[p_g]
    assert np.isfinite(tt).all() and (tt > 0).all()
    # cut mid-cell: cell-major order, so 4 trainings = cell 1 (3 seeds) + cell 2 seed 0
    cut = tmp_path / "cut.h5"
    s = build_table(cut, max_jobs=4, **kw)
    assert s["done"] == 4 and len(list((tmp_path / "cut.h5.parts").glob("*.npz"))) == 4
    parts = sorted((tmp_path / "cut.h5.parts").glob("*.npz"))
    parts[0].unlink()  # as if killed after writing another part of the same job
    build_table(cut, **kw)
    _, a_c, p_c = _arrays(cut)
    assert np.array_equal(p_c, p_g)
    for m in DETERMINISTIC:
        assert np.array_equal(a_c[m], a_g[m], equal_nan=True), m
