"""Each entry of a built table records the machine that trained it (`Table.built_on`):
recorded by the workers, carried through a resume from the table, counted in the
provenance, sealed by the checksums, and absent (all -1) where nothing was recorded."""
import shutil

import h5py
import numpy as np
import pytest

from nasbench_lab import NasbenchError
from nasbench_lab.live.protocol import Protocol
from nasbench_lab.tables import Table
from nasbench_lab.tables.build import NOT_RECORDED, _read_part, build_table, machine_description
from nasbench_lab.tables.integrity import TableError

TINY = Protocol(name="tiny-test", n_train=256, n_valid=128, n_test=128, epochs=2, batch_size=64,
                channels=4, latency_repeats=1)
KW = dict(protocol=TINY, space="nb201-3ops", limit=2, progress=False, log=lambda *a: None)


def test_machine_description_names_cpu_blas_and_numpy():
    d = machine_description()
    assert "numpy " + np.__version__ in d and d.count(";") == 2


def test_entries_record_their_machine_through_a_resume(tmp_path):
    out = tmp_path / "t.h5"
    build_table(out, seeds=[0, 1], **KW)
    with Table(out) as t:
        codes, machines = t.built_on()
        present = t.present(t.default_schedule)
        assert machines == [machine_description()]
        assert np.array_equal(codes >= 0, present) and present.sum() > 0
        assert t.provenance["built_on"] == {machine_description(): 4}
        assert t.check() == []
    # resume from the table alone (journal gone), with another seed: old entries keep their machine
    shutil.rmtree(tmp_path / "t.h5.parts")
    build_table(out, seeds=[0, 1, 2], **KW)
    with Table(out) as t:
        codes, machines = t.built_on()
        assert np.array_equal(codes >= 0, t.present(t.default_schedule))
        assert t.provenance["built_on"] == {machine_description(): 6}


def test_entries_without_a_record_are_counted_as_not_recorded(tmp_path):
    out = tmp_path / "t.h5"
    build_table(out, seeds=[0], **KW)
    parts = sorted((tmp_path / "t.h5.parts").glob("*.npz"))
    r = _read_part(parts[0])
    del r["machine"]  # as a journal entry written before machines were recorded
    np.savez(parts[0], **r)
    build_table(out, seeds=[0], **KW)
    with Table(out) as t:
        codes, _ = t.built_on()
        assert (codes >= 0).sum() == 1
        assert t.provenance["built_on"] == {machine_description(): 1, NOT_RECORDED: 1}


def test_a_damaged_machine_field_in_the_journal_is_refused(tmp_path):
    out = tmp_path / "t.h5"
    build_table(out, seeds=[0], **KW)
    part = sorted((tmp_path / "t.h5.parts").glob("*.npz"))[0]
    r = _read_part(part)
    r["machine"] = np.float64(3.0)
    np.savez(part, **r)
    with pytest.raises(NasbenchError, match="machine is not one text"):
        build_table(out, seeds=[0], **KW)


def test_a_table_without_the_record_and_a_tampered_record(tmp_path):
    out = tmp_path / "t.h5"
    build_table(out, seeds=[0], **KW)
    # a table built before machines were recorded (the built-in table): every code is -1
    from nasbench_lab.tables.registry import resolve_table

    with Table(resolve_table("nb201-mnist1d")) as t:
        codes, machines = t.built_on()
        assert machines == [] and (codes == -1).all() and codes.shape == (t.n_archs, len(t.schedule(None).seeds))
    with h5py.File(out, "r+") as f:  # one code changed after sealing
        ds = f["schedules/2/built_on"]
        a = ds[()]
        a[0, 0] = 0 if a[0, 0] != 0 else -1
        ds[...] = a
    with Table(out) as t, pytest.raises(TableError, match="checksum|changed"):
        t.built_on()


def test_machine_description_is_numpys_blas_whether_or_not_scipy_was_loaded():
    # scipy (imported by mnist1d's generator when the data is not cached yet) loads its own
    # OpenBLAS, which threadpoolctl listed first: one machine got two descriptions
    import subprocess
    import sys

    code = "from nasbench_lab.tables.build import machine_description; print(machine_description())"
    plain, with_scipy = (subprocess.run([sys.executable, "-c", pre + code], capture_output=True, text=True,
                                        check=True).stdout for pre in ("", "import scipy.stats; "))
    assert plain == with_scipy and plain.strip() == machine_description()


def _reseal(out, change):
    from nasbench_lab.tables import integrity

    with h5py.File(out, "r+") as f:
        change(f["schedules/2"])
        integrity.seal(f)  # as a rewrite that also recomputed the checksums


def _replace(grp, data):
    del grp["built_on"]
    grp.create_dataset("built_on", data=data)


@pytest.mark.parametrize("change, problem", [
    (lambda g: g.attrs.__setitem__("machines", "not json["), "machines is not valid JSON"),
    (lambda g: g.attrs.__delitem__("machines"), "has no attribute machines"),
    (lambda g: (g.__delitem__("built_on"), g.create_group("built_on")), "built_on is a group"),
    # 65536 and uint16 65535 were cast to int16 (0 and -1) before the range check and passed
    (lambda g: _replace(g, np.where(g["built_on"][()] == 0, 65536, -1).astype(np.int64)), "codes outside"),
    (lambda g: _replace(g, g["built_on"][()].astype(np.uint16)), "codes outside"),
    (lambda g: _replace(g, np.zeros(g["built_on"].shape, np.int16)), "never trained"),
    (lambda g: g.attrs.__setitem__("machines", '["two\\nlines"]'), "one-line texts"),
])
def test_a_damaged_record_is_a_table_error_and_found_by_check(tmp_path, change, problem):
    out = tmp_path / "t.h5"
    build_table(out, seeds=[0], **KW)
    _reseal(out, change)
    with Table(out) as t:
        with pytest.raises(TableError, match=problem):
            t.built_on()
        assert any(problem in p for p in t.check())  # `info --check` said "sound"


def test_a_refused_build_leaves_no_journal_that_blocks_the_right_command(tmp_path):
    out = tmp_path / "t.h5"
    build_table(out, seeds=[0], **KW)
    shutil.rmtree(tmp_path / "t.h5.parts")  # the table alone, as committed
    with pytest.raises(NasbenchError, match="would drop"):
        build_table(out, seeds=[1], **KW)  # a typo: refused, the table kept
    # its build.json (seeds 1) no longer refuses the right command on an empty journal
    assert build_table(out, seeds=[0], **KW)["done"] == 2


@pytest.mark.parametrize("text", ["x" * 100_000, "two\nlines", "   "])
def test_a_huge_or_multiline_machine_field_is_refused_and_the_table_kept(tmp_path, text):
    out = tmp_path / "t.h5"
    build_table(out, seeds=[0], **KW)
    before = out.read_bytes()
    part = sorted((tmp_path / "t.h5.parts").glob("*.npz"))[0]
    np.savez(part, **{**_read_part(part), "machine": np.array(text)})
    with pytest.raises(NasbenchError, match="machine is not one text"):
        build_table(out, seeds=[0], **KW)
    assert out.read_bytes() == before


def test_info_lists_the_trainings_per_machine_one_per_line(tmp_path, capsys):
    from nasbench_lab.cli import main

    out = tmp_path / "t.h5"
    build_table(out, seeds=[0, 1], **KW)
    assert main(["info", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = lines.index("  built_on (trainings per machine):")
    assert lines[at + 1].split() == ["4", *machine_description().split()]  # was 'DESCRIPTION=4'


def test_reproduce_entries_gives_one_line_errors(tmp_path, capsys):
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "analysis" / "reproduce_entries.py"
    main = runpy.run_path(str(script))["main"]
    out = tmp_path / "t.h5"
    build_table(out, seeds=[0], **KW)
    _reseal(out, lambda g: g.attrs.__setitem__("machines", "[1]"))
    assert main([str(out), "--k", "1"]) == 2  # was a TableError traceback
    err = capsys.readouterr().err
    assert err.startswith("reproduce_entries: error: ") and err.count("\n") == 1
    with pytest.raises(SystemExit) as e:
        main([str(out), "--k", "0"])  # --k -1 retrained all but one
    assert e.value.code == 2


def test_reproduce_entries_retrains_each_shared_entry_once(tmp_path, capsys):
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "analysis" / "reproduce_entries.py"
    main = runpy.run_path(str(script))["main"]
    out = tmp_path / "t.h5"
    build_table(out, seeds=[0], **{**KW, "limit": 4})  # one of the 4 cells has 2 indices (one entry)
    assert main([str(out), "--k", "100"]) == 0
    text = capsys.readouterr().out
    assert "4 entries of 4 distinct fully trained cells" in text  # was 5 of 5: one entry twice


def test_a_resume_from_a_table_with_a_multiline_machine_is_refused_before_the_journal(tmp_path):
    # the table's text went into the journal, whose check then refused it: 'delete it and rerun'
    # wrote it again from the table, forever
    out = tmp_path / "t.h5"
    build_table(out, seeds=[0], **KW)
    shutil.rmtree(tmp_path / "t.h5.parts")
    with h5py.File(out, "r+") as f:
        f["schedules/2"].attrs["machines"] = '["two\\nlines"]'
    before = out.read_bytes()
    with pytest.raises(TableError, match="one-line texts"):
        build_table(out, seeds=[0], **KW)
    assert not list((tmp_path / "t.h5.parts").glob("*.npz")) and out.read_bytes() == before
