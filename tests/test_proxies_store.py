"""Proxies in a table: schema 2 with old files still opening, checksums, the journal (kill -9), the CLI."""
import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from nasbench_lab.cli import main
from nasbench_lab.proxies.compute import compute_proxies, journal_of
from nasbench_lab.proxies.evaluate import correlations, evaluate_table, topk_overlap
from nasbench_lab.tables import builtin_tables
from nasbench_lab.tables.table import Table, TableError


@pytest.fixture
def small(tmp_path):
    """The shipped small table as a schema-1 file without proxies (as it was before schema 2)."""
    p = tmp_path / "small.h5"
    shutil.copyfile(builtin_tables()["nb201-3ops-small"], p)
    with h5py.File(p, "r+") as f:
        if "proxies" in f:
            del f["proxies"]
        f.attrs["schema_version"] = 1
    return p


def quiet(*a, **k):
    pass


def test_old_tables_open_and_report_no_proxies(small):
    for path in (builtin_tables()["nb201-cifar10"], small):
        with Table(path) as t:
            assert int(t._h5.attrs["schema_version"]) == 1
            assert t.proxies() is None and t.describe()["proxies"] == [] and t.check() == []


def test_shipped_live_tables_carry_proxies():
    for name in ("nb201-3ops-small", "nb201-mnist1d", "nb201-mnist1d-hard"):
        with Table(builtin_tables()[name]) as t:
            ps = t.proxies()
            assert ps.info.seeds == ("0", "1", "2") and ps.present.all()
            assert t.check() == []  # proxies hash and per-array checksums hold too
    with Table(builtin_tables()["nb201-mnist1d-hard"]) as t:
        # the proxies were added after the table was sealed: its content hash is unchanged
        assert t.content_hash.startswith("dbf749ad1cf7")
        assert t.proxies().info.setting["protocol"]["name"] == "hard-mnist1d"


def test_compute_stores_keeps_content_hash_and_resumes(small):
    with Table(small) as t:
        h, version = t.content_hash, int(t._h5.attrs["schema_version"])
    assert version == 1
    s = compute_proxies(small, seeds=[0], max_cells=3, log=quiet)
    assert s["cells_done"] == 3 and s["entries"] == 3
    with Table(small) as t:
        ps = t.proxies()
        assert t.content_hash == h and int(t._h5.attrs["schema_version"]) == 2 and t.check() == []
        first = ps.scores.copy()
        assert ps.present.sum() >= 3 and np.isfinite(ps.seconds[ps.present]).all()
        assert (ps.seconds[ps.present] > 0).all()
    # more seeds: the first entries are kept as they were, the new ones are computed
    compute_proxies(small, seeds=[0, 1], max_cells=2, log=quiet)
    with Table(small) as t:
        ps = t.proxies()
        assert ps.info.seeds == ("0", "1")
        kept = ~np.isnan(first[:, 0, 0])
        np.testing.assert_array_equal(ps.scores[kept, 0], first[kept, 0])
    # the journal lost: entries come back from the table, nothing is recomputed
    shutil.rmtree(journal_of(small))
    s = compute_proxies(small, seeds=[0], max_cells=1, log=quiet)
    assert s["entries"] == 3 + 2 + 1  # seed 0 of 3 cells and seed 1 of 2 from the table, 1 new
    assert s["seeds"] == [0, 1]


def test_tampered_proxies_are_refused(small):
    compute_proxies(small, seeds=[0], max_cells=2, log=quiet)
    bad = small.with_name("bad.h5")
    shutil.copyfile(small, bad)
    with h5py.File(bad, "r+") as f:
        a = f["proxies/scores"][()]
        a[np.isfinite(a)] += 1
        f["proxies/scores"][...] = a
    with Table(bad) as t:
        with pytest.raises(TableError, match="checksum"):
            t.proxies()
        assert any("checksum" in p for p in t.check())
    with h5py.File(bad, "r+") as f:
        f["proxies"].attrs["proxies_hash"] = "0" * 64
    with pytest.raises(TableError, match="proxies' hash"):
        Table(bad)


def test_kill9_loses_nothing_written(small):
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    cmd = [sys.executable, "-m", "nasbench_lab.cli", "proxies", str(small), "--seeds", "0"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = journal_of(small)
    t0 = time.time()
    while time.time() - t0 < 60 and len(list(parts.glob("*.npz"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = {p.name: p.read_bytes() for p in parts.glob("*.npz")}
    assert len(done) >= 3
    with Table(small) as t:  # the table itself was never touched half-way
        assert t.proxies() is None
    s = compute_proxies(small, seeds=[0], max_cells=2, log=quiet)
    assert s["entries"] == len(done) + 2
    assert all((parts / n).read_bytes() == b for n, b in done.items())


def test_correlation_and_overlap_helpers():
    rng = np.random.default_rng(0)
    a = rng.normal(size=50)
    c = correlations(2 * a + 1, a, 100, rng)
    assert c["spearman"] == pytest.approx(1) and c["kendall"] == pytest.approx(1)
    assert c["spearman_ci"][0] == pytest.approx(1)
    assert correlations(-a, a, 0, rng)["spearman"] == pytest.approx(-1)
    assert topk_overlap(np.arange(10.0), np.arange(10.0), 3) == 1.0
    assert topk_overlap(-np.arange(10.0), np.arange(10.0), 3) == 0.0


def test_evaluate_and_cli(small, capsys, tmp_path):
    assert main(["proxies", str(small), "--evaluate"]) == 2
    assert "has no proxies" in capsys.readouterr().err
    assert main(["proxies", str(small), "--seeds", "0", "--max-cells", "6"]) == 0
    res = evaluate_table(small, n_boot=20)
    assert res["cells"] == 6 and set(res["proxies"]) >= {"synflow", "naswot", "params", "flops"}
    png = tmp_path / "p.png"
    assert main(["proxies", str(small), "--evaluate", "--bootstrap", "20", "--png", str(png)]) == 0
    out = capsys.readouterr().out
    assert "Spearman" in out and "naswot" in out and png.stat().st_size > 1000


@pytest.mark.parametrize("args, msg", [
    (["nb201-cifar10"], "not built by the live backend"),
    (["nb201-3ops-small", "--batch-size", "1"], "--batch-size"),
    (["nb201-3ops-small", "--seeds", "-1"], "--seeds"),
    (["nb201-3ops-small", "--evaluate", "--top-fraction", "2"], "--top-fraction"),
])
def test_cli_errors_are_one_line(args, msg, capsys):
    assert main(["proxies", *args]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1


def test_build_with_proxies(tmp_path, capsys):
    out = tmp_path / "b.h5"
    assert main(["build", "--out", str(out), "--protocol", "small-mnist1d", "--space", "nb201-3ops",
                 "--seeds", "0", "--limit", "2", "--proxies", "--json"]) == 0
    with Table(out) as t:
        ps = t.proxies()
        trained = t.present(t.default_schedule)[:, 0]
        assert ps.info.seeds == ("0",) and np.array_equal(ps.present[:, 0], trained) and trained.sum() >= 2
        assert t.check() == []
