import csv

import numpy as np
import pytest

from nasbench_lab import NasbenchError
from nasbench_lab.spaces import NB201
from nasbench_lab.runner import SearchView
from nasbench_lab.tables import Table, open_table
from nasbench_lab.tables.import_nb201 import SOURCE_12, import_nb201, output_paths
from nasbench_lab.tables.registry import _PACKAGE_DATA as DATA


def test_values_match_the_csv(nb201_table, nb201_dir):
    t = nb201_table
    assert t.dataset == "cifar10-valid" and set(t.schedules) == {"12", "200"}
    assert t.check() == []
    rows = list(csv.DictReader(open(nb201_dir / "nb201_cifar10valid_200ep.csv")))
    rows12 = {int(r["index"]): r for r in csv.DictReader(open(nb201_dir / "nb201_12ep.csv"))}
    for r in rows[::997]:
        i = int(r["index"])
        assert NB201.to_string(NB201.from_index(i)) == r["arch_str"]
        q = t.query(i, schedule="200", seed="mean")
        assert q.valid_acc == pytest.approx(float(r["valid-accuracy"]), abs=1e-4)
        assert q.test_acc == pytest.approx(float(r["test-accuracy"]), abs=1e-4)
        q12 = t.query(i, schedule="12")
        assert q12.valid_acc == pytest.approx(float(rows12[i]["cifar10-val"]), abs=1e-4)
        assert q12.test_acc != q12.test_acc  # the export's cifar10-test is the cifar10 run
        assert q12.cost == pytest.approx(12 * float(r["train-per-time"]) + float(r["valid-per-time"]), rel=1e-5)
    best = t.lookup("valid_acc", np.arange(15625), schedule="200")
    assert int(np.nanargmax(best)) == 6111 and np.nanmax(best) == pytest.approx(91.607, abs=1e-3)


def test_other_datasets(nb201_dir):
    rows12 = {int(r["index"]): r for r in csv.DictReader(open(nb201_dir / "nb201_12ep.csv"))}
    for name, ds, col in (("nb201-cifar100", "cifar100", "cifar100"),
                          ("nb201-imagenet16-120", "ImageNet16-120", "imagenet")):
        t = open_table(name)
        assert t.dataset == ds and not t.has_costs("12") and t.check() == []
        assert t.provenance["files"] == [SOURCE_12]  # only the file it was made from
        for i in (1, 6111, 15624):
            q = t.query(i, schedule="12", seed="mean")
            assert q.valid_acc == pytest.approx(float(rows12[i][f"{col}-val"]), abs=1e-4)
            assert q.test_acc == pytest.approx(float(rows12[i][f"{col}-test"]), abs=1e-4)
    t = open_table("nb201-cifar10")  # trained on train+valid: test accuracy only
    assert t.dataset == "cifar10" and t.schedule("12").metrics == ("test_acc",) and t.check() == []
    assert t.lookup("test_acc", [1])[0] == pytest.approx(float(rows12[1]["cifar10-test"]), abs=1e-4)
    with pytest.raises(NasbenchError, match="no validation accuracy"):
        SearchView(t, None, None)


def test_shipped_tables_are_this_importer_on_the_exports(nb201_dir, tmp_path):
    """Re-importing ../shared/nb201 gives the shipped tables: every array equal, same provenance."""
    paths = import_nb201(nb201_dir, tmp_path, log=lambda *a: None)
    assert [p.name for p in paths] == ["nb201-cifar10-valid.h5", "nb201-cifar10.h5", "nb201-cifar100.h5",
                                       "nb201-imagenet16-120.h5"]
    for p in paths:
        with Table(p) as fresh, open_table(p.stem) as shipped:
            assert shipped.path.startswith(str(DATA)), shipped.path
            assert fresh.provenance == shipped.provenance and fresh.dataset == shipped.dataset
            assert fresh.schedules == shipped.schedules
            for s, sch in fresh.schedules.items():
                for m in (*sch.metrics, "present"):
                    assert np.array_equal(fresh.array(s, m), shipped.array(s, m), equal_nan=True), (p, s, m)


def test_output_naming(tmp_path):
    assert output_paths(tmp_path / "x.h5")["nb201-cifar100"] == tmp_path / "nb201-cifar100.h5"
    with pytest.raises(NasbenchError, match="is the name of the cifar10 table"):
        output_paths(tmp_path / "nb201-cifar10.h5")
    (tmp_path / "f").write_text("")
    with pytest.raises(NasbenchError, match="is a file"):
        output_paths(tmp_path / "f")


def test_damaged_input(tmp_path, nb201_dir):
    with pytest.raises(NasbenchError, match="not a directory"):
        import_nb201(tmp_path / "nope", tmp_path / "o.h5")
    with pytest.raises(NasbenchError, match="not found"):
        import_nb201(tmp_path, tmp_path / "o.h5")
    lines = open(nb201_dir / "nb201_12ep.csv").read().splitlines()
    (tmp_path / "nb201_cifar10valid_200ep.csv").write_text(open(nb201_dir / "nb201_cifar10valid_200ep.csv").read())
    bad = lines[:5] + [lines[5].replace("nor_conv", "conv", 1)] + lines[6:]
    (tmp_path / "nb201_12ep.csv").write_text("\n".join(bad))
    with pytest.raises(NasbenchError, match="nb201_12ep.csv line 6"):
        import_nb201(tmp_path, tmp_path / "o.h5", log=lambda *a: None)
    (tmp_path / "nb201_12ep.csv").write_text("\n".join([lines[0].replace("cifar10-val", "x")] + lines[1:]))
    with pytest.raises(NasbenchError, match="lacks column"):
        import_nb201(tmp_path, tmp_path / "o.h5", log=lambda *a: None)
    assert not (tmp_path / "o.h5").exists()
