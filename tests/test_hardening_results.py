"""Issue 17, results and compare: runs are never mixed, relabelled or bound to a table
content other than the one read; a damaged results directory is one line of error."""
import json
import shutil
import subprocess
import sys

import h5py
import pytest

from nasbench_lab.cli import main
from nasbench_lab.outpaths import LOCK_NAME, exclusive
from nasbench_lab.results import ResultStore
from nasbench_lab.tables import Table
from nasbench_lab.tables.synthetic import make_synthetic_table
from nasbench_lab.tables.writer import content_hash


def _cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    if code == 2:
        assert out.err.startswith("nasbench-lab: error: ") and out.err.count("\n") == 1, out.err
    return code, out.err


def _run(table, out, seed=0, runs=3):
    return ["run", "--table", table, "--strategy", "random", "--runs", runs, "--budget-queries", 5,
            "--seed", seed, "--out", out]


def _stored(out):
    with ResultStore(out) as s:
        return {(t, st): [(r.meta["run"], r.meta["seed"], r.meta["table_hash"]) for r in s.load(t, st)]
                for t in s.tables() for st in s.strategies(t)}


def test_two_concurrent_compares_into_one_new_out_do_not_mix(synthetic_table_path, tmp_path):
    out = tmp_path / "c"
    cmd = [sys.executable, "-m", "nasbench_lab.cli", "compare", "--table", str(synthetic_table_path),
           "--strategies", "random,rea", "--runs", "40", "--budget-queries", "30", "--out", str(out)]
    procs = [subprocess.Popen([*cmd, "--seed", str(seed)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for seed in (0, 1)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    err = next(e for code, e in results if code == 2)
    assert "another nasbench-lab process" in err or "another configuration" in err
    assert err.strip().count("\n") == 0
    seeds = {seed for runs in _stored(out).values() for _, seed, _ in runs}
    assert len(seeds) == 1 and seeds == {json.loads((out / "config.json").read_text())["seed"]}


def test_a_results_dir_being_written_is_refused(capsys, synthetic_table_path, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    with exclusive(out / LOCK_NAME, "test"):
        code, err = _cli(capsys, *_run(synthetic_table_path, out))
    assert code == 2 and "another nasbench-lab process" in err and "is writing results into" in err
    assert _cli(capsys, *_run(synthetic_table_path, out))[0] == 0  # the holder is gone


def test_runs_without_their_config_are_not_relabelled(capsys, synthetic_table_path, tmp_path):
    out = tmp_path / "r"
    assert _cli(capsys, *_run(synthetic_table_path, out, seed=0))[0] == 0
    before = _stored(out)
    config = (out / "config.json").read_text()
    (out / "config.json").unlink()
    code, err = _cli(capsys, *_run(synthetic_table_path, out, seed=1))
    assert code == 2 and "no config.json" in err
    code, err = _cli(capsys, "report", out)
    assert code == 2
    assert not (out / "config.json").exists()
    (out / "config.json").write_text("[1, 2, 3]")
    code, err = _cli(capsys, *_run(synthetic_table_path, out, seed=0))
    assert code == 2 and "config.json is damaged" in err
    (out / "config.json").write_text(config)
    assert _stored(out) == before  # the runs were never touched nor relabelled


def test_results_are_bound_to_the_table_content_read(capsys, tmp_path):
    p = tmp_path / "t.h5"
    make_synthetic_table(p, seed=0)
    out = tmp_path / "r"
    assert _cli(capsys, *_run(p, out))[0] == 0
    with h5py.File(p, "r") as f:
        read = content_hash(f)  # recomputed from every array's bytes
    assert {h for runs in _stored(out).values() for _, _, h in runs} == {read}
    make_synthetic_table(p, seed=1)  # another content at the same path, same table name
    code, err = _cli(capsys, *_run(p, out))
    assert code == 2 and "another configuration (differs in: tables)" in err
    cfg = json.loads((out / "config.json").read_text())  # a hand-edited configuration...
    cfg["tables"]["synthetic-nb201"]["content_hash"] = Table(p).content_hash
    (out / "config.json").write_text(json.dumps(cfg))
    code, err = _cli(capsys, *_run(p, out))  # ...does not make old runs pass for the new table
    assert code == 2 and "made on another content of table 'synthetic-nb201'" in err


def test_a_table_replaced_in_a_long_lived_process_is_not_read_from_a_stale_cache(capsys, tmp_path):
    p = tmp_path / "t.h5"
    make_synthetic_table(p, seed=0)
    assert _cli(capsys, *_run(p, tmp_path / "a"))[0] == 0
    make_synthetic_table(p, seed=1)
    assert _cli(capsys, *_run(p, tmp_path / "b"))[0] == 0
    new = Table(p).content_hash
    assert {h for runs in _stored(tmp_path / "b").values() for _, _, h in runs} == {new}


@pytest.fixture
def old_layout(capsys, synthetic_table_path, tmp_path):
    """A results directory of the older layout (one JSON file per run), taken from a real run."""
    src = tmp_path / "src"
    assert _cli(capsys, *_run(synthetic_table_path, src, runs=2))[0] == 0
    with ResultStore(src) as s:
        records = [r.to_dict() for r in s.load("synthetic-nb201", "random")]
    out = tmp_path / "old"
    d = out / "runs" / "synthetic-nb201" / "random"
    d.mkdir(parents=True)
    shutil.copy(src / "config.json", out / "config.json")
    for r in records:
        (d / f"run-{r['meta']['run']:05d}.json").write_text(json.dumps(r))
    return out, d, records


def test_the_old_layout_is_taken_in(capsys, old_layout):
    out, _, records = old_layout
    assert _cli(capsys, "report", out)[0] == 0


@pytest.mark.parametrize("damage, match", [
    (lambda d, r: (d / "run-abc.json").write_text(json.dumps(r[0])), "not a run file name"),
    (lambda d, r: (d / "run-00000.json").write_text(json.dumps({**r[0], "meta": {**r[0]["meta"], "run": None}})),
     "meta.run is None"),
    (lambda d, r: (d / "run-00000.json").write_text(json.dumps({k: v for k, v in r[0].items() if k != "arch"})),
     "missing arch"),
    (lambda d, r: (d / "run-00000.json").write_text(json.dumps([1, 2])), "a JSON list"),
    (lambda d, r: (d / "run-00000.json").write_text(json.dumps({**r[0], "meta": "x"})), "meta is a str"),
    (lambda d, r: (d / "run-00000.json").write_text(json.dumps({**r[0], "time": "soon"})), "time is not a list"),
    (lambda d, r: (d / "run-00000.json").write_text(json.dumps({**r[0], "arch": [0.5] * len(r[0]["arch"])})),
     "arch holds non-integers"),
    (lambda d, r: (d / "run-00000.json").write_text(json.dumps(r[1])), "mislabelled"),
    (lambda d, r: (d / "run-00000.json").write_text(json.dumps({**r[0], "meta": {**r[0]["meta"], "seed": 9}})),
     "made with seed 9"),
    (lambda d, r: (d / "run-00000.json").write_text("{not json"), "is damaged"),
])
def test_a_damaged_results_dir_is_one_line(capsys, old_layout, damage, match):
    out, d, records = old_layout
    damage(d, records)
    code, err = _cli(capsys, "report", out)
    assert code == 2 and match in err, err


def test_a_damaged_database_is_one_line(capsys, synthetic_table_path, tmp_path):
    out = tmp_path / "r"
    assert _cli(capsys, *_run(synthetic_table_path, out))[0] == 0
    for f in out.glob("results.sqlite*"):
        f.unlink()
    (out / "results.sqlite").write_bytes(b"garbage" * 100)
    assert _cli(capsys, "report", out)[0] == 2
    assert _cli(capsys, *_run(synthetic_table_path, out))[0] == 2


@pytest.mark.parametrize("manifest, match", [("[1]", "a JSON list"), ('{"tables": 5}', "tables is 5"),
                                             ('{"runs": "x"}', "runs is 'x'"), ('{"table_facts": []}', "table_facts"),
                                             ('{"strategies": [1]}', "strategies must be names")])
def test_a_damaged_compare_manifest_is_one_line(capsys, synthetic_table_path, tmp_path, manifest, match):
    out = tmp_path / "r"
    assert _cli(capsys, *_run(synthetic_table_path, out))[0] == 0
    (out / "compare.json").write_text(manifest)
    code, err = _cli(capsys, "report", out)
    assert code == 2 and match in err
