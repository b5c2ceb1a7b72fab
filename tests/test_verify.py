import json

import pytest

from nasbench_lab import NasbenchError
from nasbench_lab.cli import main
from nasbench_lab.experiment import StrategySpec, run_experiment
from nasbench_lab.runner import Budget
from nasbench_lab.tables.build import build_table
from nasbench_lab.verify import verify_random

from test_build import TINY


@pytest.fixture(scope="module")
def tiny_table(tmp_path_factory):
    path = tmp_path_factory.mktemp("v") / "tiny.h5"
    build_table(path, protocol=TINY, seeds=[0, 1], space="nb201-3ops", progress=False, log=lambda *a: None,
                workers=2)
    return path


def test_verify_random_agrees_with_table(tiny_table):
    r = verify_random(str(tiny_table), 4, seeds=1)
    assert len(r["architectures"]) == 4 and r["fresh_seeds"] == [1000]
    for a in r["architectures"]:
        assert len(a["table_seeds"]) == 2 and len(a["live_values"]) == 1
        assert 0 <= a["live_mean"] <= 100
    assert 0 <= r["share_within_spread"] <= 1
    diffs = [a["live_mean"] - a["table_mean"] for a in r["architectures"]]
    assert r["mean_difference"] == pytest.approx(sum(diffs) / len(diffs))
    assert r["mean_abs_difference"] == pytest.approx(sum(map(abs, diffs)) / len(diffs))


def test_verify_top_incumbents_cli(tiny_table, tmp_path, capsys):
    run_experiment([str(tiny_table)], [StrategySpec("random"), StrategySpec("rea")], runs=4, seed=0,
                   budget=Budget(queries=10), out=str(tmp_path / "cmp"))
    assert main(["verify", str(tmp_path / "cmp"), "--top", "3", "--seeds", "1", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)["tables"]["tiny"]
    assert 1 <= len(res["architectures"]) <= 3
    assert all(a["times_chosen"] >= 1 for a in res["architectures"])


def test_verify_needs_a_built_table(synthetic_table_path, capsys):
    assert main(["verify", "--random", "2", "--table", str(synthetic_table_path)]) == 2
    assert "not built by nasbench_lab's trainer" in capsys.readouterr().err
    assert main(["verify"]) == 2
    with pytest.raises(NasbenchError):
        verify_random(str(synthetic_table_path), 0, seeds=1)
