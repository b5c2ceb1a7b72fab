import csv

import numpy as np
import pytest

from nasbench_lab import NasbenchError
from nasbench_lab.spaces import NB201
from nasbench_lab.tables import Table
from nasbench_lab.tables.import_nb201 import import_nb201


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
        assert q12.test_acc == pytest.approx(float(rows12[i]["cifar10-test"]), abs=1e-4)
        assert q12.cost == pytest.approx(12 * float(r["train-per-time"]) + float(r["valid-per-time"]), rel=1e-5)
    best = t.lookup("valid_acc", np.arange(15625), schedule="200")
    assert int(np.nanargmax(best)) == 6111 and np.nanmax(best) == pytest.approx(91.607, abs=1e-3)


def test_other_datasets(nb201_table_path):
    for suffix, ds in (("cifar100", "cifar100"), ("imagenet16-120", "ImageNet16-120")):
        t = Table(nb201_table_path.with_name(f"nb201-cifar10-{suffix}.h5"))
        assert t.dataset == ds and not t.has_costs("12")
        assert 0 < t.query(1, schedule="12").valid_acc < 100


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
