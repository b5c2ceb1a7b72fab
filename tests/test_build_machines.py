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
