"""Issue 17, command line: seeds, output paths, bounds and addresses a command cannot use are
one line of error (exit 2) before any work, never a traceback or a hang."""
import os
import time

import pytest

from nasbench_lab.cli import main

ARCH = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|nor_conv_3x3~2|"


def _error(capsys, *argv):
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("nasbench-lab: error: ") and err.count("\n") == 1, err
    return err


def _run(table, out, *extra):
    return ["run", "--table", table, "--strategy", "random", "--runs", 2, "--budget-queries", 5, "--out", out,
            *extra]


def _compare(table, out, *extra):
    return ["compare", "--table", table, "--strategies", "random,rea", "--runs", 2, "--budget-queries", 5,
            "--out", out, *extra]


def test_negative_seeds_everywhere(capsys, synthetic_table_path, tmp_path):
    assert "--seed must be" in _error(capsys, "train", ARCH, "--seed", -1, "--epochs", 1)
    assert "--seed must be" in _error(capsys, *_run(synthetic_table_path, tmp_path / "r", "--seed", -1))
    assert "--seed must be" in _error(capsys, *_compare(synthetic_table_path, tmp_path / "c", "--seed", -5))
    assert "--seeds must be" in _error(capsys, "build", "--out", tmp_path / "b.h5", "--space", "nb201-3ops",
                                       "--limit", 1, "--seeds", "-1")
    assert not any(tmp_path.iterdir())


def test_output_paths_that_cannot_be_written(capsys, synthetic_table_path, tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    for make in (_run, _compare):
        assert "is a file, not a directory" in _error(capsys, *make(synthetic_table_path, f))
        assert "cannot create --out" in _error(capsys, *make(synthetic_table_path, f / "below"))
    assert f.read_text() == "x"


def test_import_output_paths_that_cannot_be_written(capsys, nb201_dir, tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    err = _error(capsys, "import", "nb201", nb201_dir, "--out", f / "t.h5")
    assert "cannot write the table" in err or "is a file" in err
    (tmp_path / "d.h5").mkdir()
    assert "is a directory" in _error(capsys, "import", "nb201", nb201_dir, "--out", tmp_path / "d.h5")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_unwritable_output_folders(capsys, synthetic_table_path, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert "cannot create --out" in _error(capsys, *_run(synthetic_table_path, ro / "r"))
        assert "not writable" in _error(capsys, "build", "--out", ro / "t.h5", "--space", "nb201-3ops",
                                        "--limit", 1)
    finally:
        ro.chmod(0o700)


def test_bounds_fail_at_once(capsys, synthetic_table_path, tmp_path):
    t0 = time.perf_counter()
    assert "--runs" in _error(capsys, "run", "--table", synthetic_table_path, "--strategy", "random", "--runs",
                              "99999999999999999999", "--budget-queries", 5, "--out", tmp_path / "r")
    assert "--workers 1000 is more than" in _error(capsys, *_run(synthetic_table_path, tmp_path / "r",
                                                                 "--workers", 1000))
    assert "--workers 1000 is more than" in _error(capsys, "build", "--out", tmp_path / "b.h5", "--space",
                                                   "nb201-3ops", "--limit", 1, "--workers", 1000)
    assert "--workers must be a positive" in _error(capsys, "verify", "--random", 2, "--table", synthetic_table_path,
                                                    "--workers", 0)
    assert time.perf_counter() - t0 < 30 and not any(tmp_path.iterdir())


@pytest.mark.parametrize("address", ["not an address", "::::", "tcp://", "tcp://host", "host:99999", "tcp://a b:1"])
def test_malformed_dask_scheduler(capsys, synthetic_table_path, tmp_path, address):
    assert "--dask-scheduler" in _error(capsys, *_compare(synthetic_table_path, tmp_path / "c",
                                                          "--dask-scheduler", address))
    assert "--dask-scheduler" in _error(capsys, "build", "--out", tmp_path / "b.h5", "--space", "nb201-3ops",
                                        "--limit", 1, "--dask-scheduler", address)
    assert not any(tmp_path.iterdir())


def test_an_unforeseen_file_system_error_is_one_line(capsys, monkeypatch, tmp_path):
    import nasbench_lab.cli as cli

    def boom(args):
        raise OSError(28, "No space left on device", str(tmp_path / "x"))
    monkeypatch.setattr(cli, "cmd_tables", boom)
    assert "No space left on device" in _error(capsys, "tables")
