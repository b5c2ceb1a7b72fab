import subprocess
import sys

import h5py
import numpy as np
import pytest

from nasbench_lab.spaces import NB201
from nasbench_lab.tables import Table, TableError, TableWriter
from nasbench_lab.tables.synthetic import make_synthetic_table


def test_round_trip_and_query_semantics(synthetic_table):
    t = synthetic_table
    assert t.space is NB201 and t.n_archs == 15625 and list(t.schedules) == ["12"]
    sch = t.schedule("12")
    assert sch.recorded_epochs == tuple(range(1, 13)) and sch.seeds == ("0", "1", "2")
    a = NB201.from_index(123)
    r0 = t.query(a, epoch=5, seed=0)
    r1 = t.query(a, epoch=5, seed="1")
    mean = t.query(a, epoch=5, seed="mean")
    assert r0.epoch == 5 and r0.seed == "0" and r0.index == 123
    raw = t.array("12", "valid_acc")[123, :, 4]
    assert r0.valid_acc == pytest.approx(raw[0]) and r1.valid_acc == pytest.approx(raw[1])
    assert mean.valid_acc == pytest.approx(raw.mean(), rel=1e-6)
    assert r0.cost == pytest.approx(r0.train_time + r0.valid_time)
    last = t.query(a, seed=0)
    assert last.epoch == 12
    # seed=None draws from the caller's generator
    drawn = {t.query(a, rng=np.random.default_rng(s)).seed for s in range(30)}
    assert drawn == {"0", "1", "2"}
    with pytest.raises(TableError, match="rng"):
        t.query(a)
    # vectorised lookup agrees with scalar queries
    idx = np.arange(0, 15625, 977)
    vec = t.lookup("test_acc", idx, epoch=12, seed=2)
    assert np.allclose(vec, [t.query(int(i), seed=2).test_acc for i in idx])
    assert t.query(NB201.to_string(a), seed=0).index == 123


@pytest.mark.parametrize("kw, match", [
    (dict(schedule="200"), "no schedule '200'; valid: 12"),
    (dict(epoch=13), "epoch 13 is not recorded"),
    (dict(seed=7), "no seed 7"),
])
def test_bad_queries(synthetic_table, kw, match):
    kw.setdefault("seed", 0)
    with pytest.raises(TableError, match=match):
        synthetic_table.query(5, **kw)


def test_missing_seeds_are_recorded_not_filled(tmp_path):
    p = make_synthetic_table(tmp_path / "m.h5", missing_fraction=0.5)
    t = Table(p)
    present = t.present("12")
    assert present[:, 0].all() and 0.4 < 1 - present[:, 1:].mean() < 0.6
    i = int(np.flatnonzero(~present[:, 1])[0])
    assert np.isnan(t.array("12", "valid_acc")[i, 1]).all()
    with pytest.raises(TableError, match="missing"):
        t.query(i, seed=1)
    drawn = {t.query(i, rng=np.random.default_rng(s)).seed for s in range(20)}
    assert "1" not in drawn
    assert t.check() == []


def test_bad_files_give_one_line_errors(tmp_path, synthetic_table_path):
    def err(path):
        with pytest.raises(TableError) as e:
            Table(path)
        assert "\n" not in str(e.value)
        return str(e.value)

    assert "not found" in err(tmp_path / "nope.h5")
    (tmp_path / "text.h5").write_text("hello")
    assert "truncated or corrupt" in err(tmp_path / "text.h5")
    data = open(synthetic_table_path, "rb").read()
    (tmp_path / "trunc.h5").write_bytes(data[: len(data) // 3])
    msg = err(tmp_path / "trunc.h5")
    assert "truncated" in msg
    with h5py.File(tmp_path / "plain.h5", "w") as f:
        f["x"] = 1
    assert "not a nasbench_lab table" in err(tmp_path / "plain.h5")
    p = make_synthetic_table(tmp_path / "v.h5")
    with h5py.File(p, "a") as f:
        f.attrs["schema_version"] = 99
    assert "schema version 99" in err(p)


def test_nan_hole_and_tampering_detected(tmp_path):
    from nasbench_lab.tables.integrity import seal

    p = make_synthetic_table(tmp_path / "hole.h5")
    with h5py.File(p, "a") as f:  # a hole written before sealing (a buggy writer): checksums agree
        f["schedules/12/valid_acc"][7, 1, 3] = np.nan
        f["schedules/12/train_time"][7, 1, 3] = np.nan
        seal(f)
    t = Table(p)
    with pytest.raises(TableError, match="NaN hole"):
        t.query(7, epoch=4, seed=1)
    with pytest.raises(TableError, match="NaN holes in schedule '12', first at arch 7, seed 1, epoch 4"):
        t.check_holes("12")
    assert any("NaN holes" in p for p in t.check())
    t.close()
    with h5py.File(p, "a") as f:  # changed after sealing: refused on first read, and by check
        f["schedules/12/valid_acc"][7, 1, 4] = 50.0
    t = Table(p)
    with pytest.raises(TableError, match="changed after it was sealed"):
        t.query(7, epoch=5, seed=1)
    problems = Table(p).check()
    assert any("does not match its checksum" in p for p in problems) and any("content hash mismatch" in p for p in problems)


def test_diverged_training_is_not_a_hole(tmp_path):
    t = Table(make_synthetic_table(tmp_path / "div.h5", nan_fraction=0.05))
    assert t.check() == []
    va = t.array("12", "valid_acc")
    i, s = np.argwhere(np.isnan(va[:, :, -1]))[0]
    r = t.query(int(i), seed=int(s))
    assert np.isnan(r.valid_acc) and np.isfinite(r.cost)


def test_writer_is_atomic(tmp_path):
    path = tmp_path / "w.h5"
    with pytest.raises(RuntimeError):
        with TableWriter(path, name="w", space=NB201, dataset="x") as w:
            w.add_schedule("3", epochs=3, recorded_epochs=[1, 2, 3], seeds=["0"])
            raise RuntimeError("killed")
    assert not path.exists() and not (tmp_path / "w.h5.tmp").exists()
    with pytest.raises(ValueError, match="recorded_epochs"):
        with TableWriter(path, name="w", space=NB201, dataset="x") as w:
            w.add_schedule("3", epochs=3, recorded_epochs=[2, 1], seeds=["0"])


def test_open_is_lazy_and_fast(synthetic_table_path):
    code = ("import time; t0=time.perf_counter(); from nasbench_lab.tables import Table; import h5py; "
            "t1=time.perf_counter(); t=Table(%r); t2=time.perf_counter(); print(t2-t1); "
            "print(len(t._cache))" % str(synthetic_table_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert float(out[0]) < 0.5 and out[1] == "0"  # nothing read until a query needs it


def test_table_pickles_as_path(synthetic_table):
    import pickle

    t2 = pickle.loads(pickle.dumps(synthetic_table))
    assert t2.path == synthetic_table.path and t2.query(3, seed=0) == synthetic_table.query(3, seed=0)
