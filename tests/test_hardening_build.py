"""Issue 17, build and import: what a table already holds is never lost or replaced by
another table, a foreign or damaged journal is one line of error, and arguments a build
cannot honour are refused before anything is written."""
import json
import shutil

import h5py
import numpy as np
import pytest

from nasbench_lab import NasbenchError
from nasbench_lab.cli import main
from nasbench_lab.live.protocol import Protocol
from nasbench_lab.outpaths import LOCK_NAME, exclusive
from nasbench_lab.spaces import NB201
from nasbench_lab.tables import Table
from nasbench_lab.tables.build import build_table
from nasbench_lab.tables.synthetic import make_synthetic_table
from nasbench_lab.tables.writer import TableWriter, replacing_allowed

TINY = Protocol(name="tiny-test", n_train=256, n_valid=128, n_test=128, epochs=2, batch_size=64,
                channels=4, latency_repeats=1)
QUIET = dict(progress=False, log=lambda *a: None)


def _build(out, seeds=(0, 1), limit=3, **kw):
    return build_table(out, protocol=TINY, seeds=list(seeds), space="nb201-3ops", limit=limit, **QUIET, **kw)


def _entries(path):
    with Table(path) as t:
        s = t.schedule(None).name
        return t.content_hash, t.present(s).copy(), t.array(s, "valid_acc").copy()


def _one_line_error(capsys, argv):
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("nasbench-lab: error: ") and err.count("\n") == 1, err
    return err


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A 3-cell, 2-seed table with its journal (trained once for the module)."""
    out = tmp_path_factory.mktemp("built") / "t.h5"
    _build(out)
    return out


def _copy(built, tmp_path, journal=True):
    out = tmp_path / "t.h5"
    shutil.copy(built, out)
    if journal:
        shutil.copytree(built.with_name("t.h5.parts"), tmp_path / "t.h5.parts")
    return out


@pytest.mark.parametrize("journal", [True, False])
@pytest.mark.parametrize("smaller", [dict(seeds=(0,)), dict(limit=2), dict(seeds=(1,), limit=1)])
def test_build_with_fewer_seeds_or_cells_refuses_and_keeps_the_table(built, tmp_path, journal, smaller):
    out = _copy(built, tmp_path, journal)
    before = _entries(out)
    with pytest.raises(NasbenchError, match="drop"):
        _build(out, **smaller)
    after = _entries(out)
    assert before[0] == after[0] and (before[1] == after[1]).all()


def test_a_larger_limit_is_refused_with_a_hint_that_can_work(built, tmp_path):
    """The cells of --limit 4 are not a superset of those of --limit 3 (each limit is its
    own sample), so the hint names the table's own --limit, not 'no smaller --limit'."""
    out = _copy(built, tmp_path, journal=False)
    before = _entries(out)
    with pytest.raises(NasbenchError, match="the --limit it was built with") as e:
        _build(out, limit=4, max_jobs=0)
    assert "no smaller --limit" not in str(e.value)
    assert _entries(out)[0] == before[0]


def test_build_with_more_seeds_extends_and_keeps_every_entry(built, tmp_path):
    out = _copy(built, tmp_path, journal=False)  # the journal lost: entries come from the table
    h0, p0, v0 = _entries(out)
    s = _build(out, seeds=(0, 1, 2), max_jobs=0)  # assemble only: nothing new trained
    assert s["done"] == 6 and s["total"] == 9
    h1, p1, v1 = _entries(out)
    assert (p1[:, :2] == p0).all() and not p1[:, 2].any()
    np.testing.assert_array_equal(v1[:, :2], v0)


@pytest.mark.parametrize("kw, match", [
    (dict(limit=0), "--limit must be a positive"),
    (dict(limit=-2), "--limit must be a positive"),
    (dict(seeds=(-1,)), "--seeds must be distinct integers"),
    (dict(seeds=(0, 0)), "--seeds must be distinct integers"),
    (dict(seeds=()), "--seeds must be distinct integers"),
    (dict(max_jobs=-1), "--max-jobs must be 0 or more"),
])
def test_impossible_build_arguments_write_nothing(tmp_path, kw, match):
    with pytest.raises(NasbenchError, match=match):
        _build(tmp_path / "t.h5", **kw)
    assert list(tmp_path.iterdir()) == []


def test_build_cli_arguments_are_one_line_errors(capsys, tmp_path):
    base = ["build", "--space", "nb201-3ops", "--protocol", "small-mnist1d"]
    assert "--limit" in _one_line_error(capsys, [*base, "--out", tmp_path / "a.h5", "--limit", "-2"])
    assert "--limit" in _one_line_error(capsys, [*base, "--out", tmp_path / "a.h5", "--limit", "0"])
    assert "--seeds" in _one_line_error(capsys, [*base, "--out", tmp_path / "a.h5", "--seeds", "-1"])
    assert "--dask-scheduler" in _one_line_error(capsys, [*base, "--out", tmp_path / "a.h5", "--limit", "1",
                                                          "--dask-scheduler", "not an address"])
    (tmp_path / "dir.h5").mkdir()
    assert "is a directory" in _one_line_error(capsys, [*base, "--out", tmp_path / "dir.h5", "--limit", "1"])
    (tmp_path / "file").write_text("x")
    assert "is a file" in _one_line_error(capsys, [*base, "--out", tmp_path / "file" / "t.h5", "--limit", "1"])
    assert "must end in .h5" in _one_line_error(capsys, [*base, "--out", tmp_path / "t.csv", "--limit", "1"])
    assert not (tmp_path / "a.h5").exists() and not (tmp_path / "a.h5.parts").exists()


def test_a_table_of_another_protocol_or_space_is_not_taken_into_the_journal(tmp_path):
    out = tmp_path / "t.h5"
    make_synthetic_table(out)  # NB201, 12 epochs: neither this space nor this protocol
    for _ in range(2):  # refused, and refused again on the rerun (no poisoned journal left behind)
        with pytest.raises(NasbenchError, match="a table of another build"):
            _build(out)
        assert not list((tmp_path / "t.h5.parts").glob("*.npz"))
    other = tmp_path / "o.h5"
    build_table(other, protocol=TINY.replace(name="tiny-3ep", epochs=3), seeds=[0], space="nb201-3ops",
                limit=1, **QUIET)
    with pytest.raises(NasbenchError, match="another protocol or space"):
        _build(other, seeds=(0,), limit=1)  # same space, another protocol: its journal refuses
    shutil.rmtree(tmp_path / "o.h5.parts")
    with pytest.raises(NasbenchError, match="a table of another build"):
        _build(other, seeds=(0,), limit=1)


def test_foreign_or_damaged_journal_entries_are_one_line_errors(built, tmp_path):
    out = _copy(built, tmp_path)
    parts = tmp_path / "t.h5.parts"
    entry = sorted(parts.glob("*.npz"))[0]
    with np.load(entry) as z:
        d = {k: z[k] for k in z.files}
    np.savez(entry, **{**d, "valid_acc": np.zeros(5)})  # a curve of another protocol (5 epochs)
    with pytest.raises(NasbenchError, match="does not fit this build"):
        _build(out, max_jobs=0)
    entry.write_bytes(b"not an npz file")
    with pytest.raises(NasbenchError, match="is damaged"):
        _build(out, max_jobs=0)
    entry.unlink()
    (parts / "build.json").write_text("{oops")
    with pytest.raises(NasbenchError, match="build.json is damaged"):
        _build(out, max_jobs=0)
    (parts / "build.json").write_text("[1, 2]")
    with pytest.raises(NasbenchError, match="build.json is damaged"):
        _build(out, max_jobs=0)
    (parts / "build.json").unlink()
    with pytest.raises(NasbenchError, match="no build.json"):
        _build(out, max_jobs=0)
    (parts / "build.json").write_text(json.dumps({"protocol": {"name": "x"}, "space": "nb201-3ops",
                                                  "seeds": [0, 1], "limit": 3}))
    with pytest.raises(NasbenchError, match="another protocol or space"):
        _build(out, max_jobs=0)


def test_a_second_build_or_assembly_of_one_table_is_refused(built, tmp_path):
    out = _copy(built, tmp_path)
    before = _entries(out)
    with exclusive(tmp_path / "t.h5.parts" / LOCK_NAME, "test"):  # as a running build holds it
        with pytest.raises(NasbenchError, match="another nasbench-lab process .* is writing the table"):
            _build(out, max_jobs=0)
    assert _entries(out)[0] == before[0]
    assert _build(out, max_jobs=0)["done"] == 6  # the lock is gone with its holder


def test_writer_refuses_to_replace_an_unrelated_table(tmp_path):
    p = tmp_path / "t.h5"
    make_synthetic_table(p)
    h = Table(p).content_hash
    with pytest.raises(NasbenchError, match="would replace it"):
        TableWriter(p, name="t", space=NB201, dataset="cifar10", provenance={"source": "elsewhere"})
    (tmp_path / "data.h5").write_bytes(b"a user's own file")
    with pytest.raises(NasbenchError, match="not a readable table"):
        TableWriter(tmp_path / "data.h5", name="t", space=NB201, dataset="x")
    assert Table(p).content_hash == h and (tmp_path / "data.h5").read_bytes() == b"a user's own file"
    make_synthetic_table(p, seed=1)  # an earlier version of the same table is replaced
    assert Table(p).content_hash != h
    with replacing_allowed():  # import --force
        with TableWriter(p, name="t", space=NB201, dataset="cifar10", provenance={"source": "elsewhere"}) as w:
            w.add_schedule("1", epochs=1, recorded_epochs=[1], seeds=["0"])
    assert Table(p).dataset == "cifar10"


def test_import_over_an_unrelated_table_needs_force(capsys, nb201_dir, tmp_path):
    p = tmp_path / "mine.h5"
    make_synthetic_table(p)
    h = Table(p).content_hash
    err = _one_line_error(capsys, ["import", "nb201", nb201_dir, "--out", p])
    assert "would replace it" in err and "--force" in err and Table(p).content_hash == h
    assert main(["import", "nb201", str(nb201_dir), "--out", str(p), "--force"]) == 0
    assert Table(p).dataset != "synthetic"
    assert main(["import", "nb201", str(nb201_dir), "--out", str(p)]) == 0  # a re-import: allowed


def test_new_tables_carry_checksums(built):
    with h5py.File(built, "r") as f:
        assert f.attrs["hash_scheme"] == "sha256-per-array/1"
        assert f["schedules/2/valid_acc"].fletcher32 and f["schedules/2/present"].fletcher32
        assert all("sha256" in f[n].attrs for n in ("schedules/2/valid_acc", "static/params"))
