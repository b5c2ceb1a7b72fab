"""nasbench_lab.compat, driven the way NATS-Bench's README, notebooks and api_test.py use the API:
on the built-in NB201 tables (values checked against the CSV exports where ../shared/nb201
exists, else against the table read directly), and on a table converted from a small
NATS-Bench release in the official file layout (per seed, per epoch, with costs)."""
from __future__ import annotations

import csv
import random
import time

import numpy as np
import pytest

from nasbench_lab import NasbenchError
from nasbench_lab.compat import BudgetExhausted, CompatError, SimulatedClock, Unavailable, create
from nasbench_lab.spaces import NB201
from nasbench_lab.tables import open_table

# NATS-Bench's get_more_info keys for cifar10-valid (api_topology.py)
KEYS_C10V = {"train-loss", "train-accuracy", "train-per-time", "train-all-time", "valid-loss", "valid-accuracy",
             "valid-per-time", "valid-all-time", "test-loss", "test-accuracy", "test-per-time", "test-all-time",
             "comment"}


@pytest.fixture(scope="module")
def api():
    return create(None, "tss", fast_mode=True, verbose=False)


def test_readme_usage(api):
    """NATS-Bench README 'Usage': create, arch, get_more_info, get_cost_info, simulate_train_eval."""
    assert len(api) == 15625
    architecture_str = api.arch(12)
    assert architecture_str == NB201.to_string(NB201.from_index(12)) == api[12]
    assert api.query_index_by_arch(architecture_str) == 12
    info = api.get_more_info(1234, "cifar10-valid", hp="200", is_random=False)
    assert set(info) == KEYS_C10V
    t = open_table("nb201-cifar10-valid")
    q = t.query(1234, schedule="200", seed="mean")
    assert info["valid-accuracy"] == pytest.approx(q.valid_acc) and info["test-accuracy"] == pytest.approx(q.test_acc)
    assert info["train-all-time"] == pytest.approx(q.train_time)
    assert info["train-per-time"] == pytest.approx(q.train_time / 200)
    assert info["valid-per-time"] == pytest.approx(q.valid_time)
    assert info["valid-all-time"] == pytest.approx(200 * q.valid_time)
    with pytest.raises(CompatError, match="no FLOPs/params/latency"):
        api.get_cost_info(12, "cifar10")
    validation_accuracy, latency, time_cost, current_total_time_cost = api.simulate_train_eval(
        1224, dataset="cifar10", hp="12")
    q12 = t.query(1224, schedule="12", seed="mean")
    assert validation_accuracy == pytest.approx(q12.valid_acc) and latency is None
    assert time_cost == pytest.approx(q12.cost) and current_total_time_cost >= time_cost


def test_values_equal_the_exports(api, nb201_dir):
    """The facade returns the published numbers (NAS-Landscapes 200 epochs, mini-nasbench 12)."""
    rows = {int(r["index"]): r for r in csv.DictReader(open(nb201_dir / "nb201_cifar10valid_200ep.csv"))}
    rows12 = {int(r["index"]): r for r in csv.DictReader(open(nb201_dir / "nb201_12ep.csv"))}
    for i in (0, 1, 1234, 6111, 15624):
        info = api.get_more_info(i, "cifar10-valid", hp="200", is_random=False)
        for k in KEYS_C10V - {"comment"}:
            assert info[k] == pytest.approx(float(rows[i][k]), rel=1e-5, abs=1e-4), (i, k)
        r12 = rows12[i]
        assert api.get_more_info(i, "cifar10-valid", hp="12")["valid-accuracy"] == pytest.approx(float(r12["cifar10-val"]), abs=1e-4)
        assert api.get_more_info(i, "cifar10", hp="12")["test-accuracy"] == pytest.approx(float(r12["cifar10-test"]), abs=1e-4)
        for ds, col in (("cifar100", "cifar100"), ("ImageNet16-120", "imagenet")):
            x = api.get_more_info(i, ds, hp="12", is_random=False)
            assert x["valid-accuracy"] == pytest.approx(float(r12[f"{col}-val"]), abs=1e-4)
            assert x["test-accuracy"] == pytest.approx(float(r12[f"{col}-test"]), abs=1e-4)
    assert api.find_best("cifar10-valid", "x-valid", hp="200") == (6111, pytest.approx(91.607, abs=1e-3))


def test_cifar10_is_not_cifar10_valid(api):
    """The naming trap: 'cifar10' is trained on train+valid (no validation set), except in
    simulate_train_eval and find_best(..., 'valid'), which read cifar10-valid."""
    c10 = api.get_more_info(6111, "cifar10", hp="12")
    assert "valid-accuracy" not in c10 and "test-accuracy" in c10 and "all 50k" in c10["comment"]
    c10v = api.get_more_info(6111, "cifar10-valid", hp="12")
    assert c10["test-accuracy"] != pytest.approx(c10v["valid-accuracy"])
    acc, _, _, _ = api.simulate_train_eval(6111, "cifar10", hp="12", account_time=False)
    assert acc == c10v["valid-accuracy"]
    with pytest.raises(CompatError, match="takes 'cifar10' and reads cifar10-valid"):
        api.simulate_train_eval(6111, "cifar10-valid")
    assert api.find_best("cifar10", "valid", hp="200") == api.find_best("cifar10-valid", "x-valid", hp="200")
    with pytest.raises(CompatError, match="NATS-Bench's 'cifar10' is the network trained on train\\+valid"):
        create("nb201-cifar10-valid").get_more_info(1, "cifar10")


def test_hidden_clock_and_explicit_clock(api):
    api.reset_time()
    _, _, c1, total = api.simulate_train_eval(1, "cifar10")
    _, _, c2, total = api.simulate_train_eval(2, "cifar10")
    assert total == pytest.approx(c1 + c2) == pytest.approx(api.used_time)
    api.get_more_info(3, "cifar10-valid")  # never charged
    api.simulate_train_eval(3, "cifar10", account_time=False)
    assert api.used_time == pytest.approx(c1 + c2)
    api.reset_time()
    assert api.used_time == 0
    clock = SimulatedClock(budget=c1 + c2 + 1e-6)
    api.simulate_train_eval(1, "cifar10", clock=clock)
    _, _, _, total = api.simulate_train_eval(2, "cifar10", clock=clock)
    assert total == pytest.approx(c1 + c2) and clock.queries == 2 and api.used_time == 0
    with pytest.raises(BudgetExhausted, match="was not made"):
        api.simulate_train_eval(3, "cifar10", clock=clock)
    assert clock.used == pytest.approx(c1 + c2) and clock.queries == 2
    with pytest.raises(NasbenchError, match="positive number"):
        SimulatedClock(budget=-1)


def random_search_nats_style(api, time_budget=12000, dataset="cifar10"):
    """The loop of NATS-Bench's random-search notebook, with the budget check of
    AutoDL-Projects' random_wo_share.py (the last query may overshoot the budget)."""
    api.reset_time()
    best_arch, highest_accuracy, total_time = -1, -1, 0
    while total_time < time_budget:
        arch_index = random.randint(0, len(api) - 1)
        accuracy, _, _, total_time = api.simulate_train_eval(arch_index, dataset, hp="12")
        if accuracy > highest_accuracy:
            highest_accuracy, best_arch = accuracy, arch_index
    return best_arch, total_time


def test_random_search_script(api):
    random.seed(0)
    finals = []
    for _ in range(20):
        best, total = random_search_nats_style(api)
        assert total >= 12000  # the hidden-clock loop always overshoots
        finals.append(api.get_more_info(best, "cifar10-valid", hp="200", is_random=False)["test-accuracy"])
    assert 85 < np.mean(finals) < 92
    # with an explicit clock the run stops before the query that would exceed the budget
    clock, rng = SimulatedClock(12000), np.random.default_rng(0)
    try:
        while True:
            api.simulate_train_eval(int(rng.integers(len(api))), "cifar10", clock=clock)
    except BudgetExhausted:
        pass
    assert clock.used <= 12000 and clock.queries > 50


def test_what_the_exports_lack_is_a_one_line_error(api):
    with pytest.raises(CompatError, match="no per-epoch curves"):
        api.get_more_info(1, "cifar10-valid", iepoch=10, hp="200")
    with pytest.raises(CompatError, match="no trial with seed 777.*use is_random=False"):
        api.get_more_info(1, "cifar10-valid", hp="200", is_random=777)
    info = api.get_more_info(1, "cifar10-valid", hp="12")
    with pytest.raises(Unavailable, match="'train-loss' is not available: table 'nb201-cifar10-valid'"):
        info["train-loss"]
    with pytest.raises(KeyError):  # a KeyError, as a missing key of NATS-Bench's dict
        info["test-accuracy"]
    assert info.get("train-loss") is None and "train-loss" not in info
    with pytest.raises(CompatError, match="times for cifar10-valid only"):
        api.simulate_train_eval(1, "ImageNet16-120", hp="12")
    with pytest.raises(CompatError, match="hp = '12'"):
        api.get_more_info(1, "cifar100", hp="200")
    with pytest.raises(CompatError, match="not an architecture"):
        api.get_more_info("|nor_conv~0|", "cifar10-valid")
    with pytest.raises(ValueError, match="Invalid architecture index"):
        api.query_index_by_arch(15625)
    assert api.query_index_by_arch("not an arch") == -1
    with pytest.raises(CompatError, match="not in nasbench_lab"):
        create(None, "sss")
    with pytest.raises(CompatError, match="not provided"):
        api.get_net_param(1, "cifar10", None)
    for e in (CompatError("x"), Unavailable("x")):
        assert isinstance(e, NasbenchError) and str(e) == "x"


def test_meta_info_and_other_calls(api):
    r = api.query_meta_info_by_index(6111, hp="200")
    assert r.arch_index == 6111 and r.get_dataset_names() == ["cifar10-valid"]
    m = r.get_metrics("cifar10-valid", "x-valid")
    assert m["accuracy"] == pytest.approx(91.607, abs=1e-3) and m["iepoch"] == 199
    assert r.get_metrics("cifar10-valid", "ori-test")["accuracy"] == api.get_more_info(6111, "cifar10-valid", hp="200")["test-accuracy"]
    with pytest.raises(CompatError, match="no evaluation set 'x-test'"):
        r.get_metrics("cifar10-valid", "x-test")
    assert set(api.query_meta_info_by_index(6111, hp="12").get_dataset_names()) == {
        "cifar10-valid", "cifar10", "cifar100", "ImageNet16-120"}
    assert api.get_net_config(12, "cifar100") == {"name": "infer.tiny", "C": 16, "N": 5, "arch_str": api.arch(12),
                                                  "num_classes": 100}
    assert api.statistics("cifar10-valid", 200) == {1: 15625}
    assert api.avaliable_hps == ["12", "200"]
    m = api.str2matrix("|nor_conv_1x1~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|")
    assert m[1, 0] == 2 and m[3, 2] == 1 and m.sum() == 3


def test_queries_take_well_under_a_millisecond(api):
    idx = np.random.default_rng(0).integers(len(api), size=500)
    api.get_more_info(0, "cifar10-valid", hp="200")
    t0 = time.perf_counter()
    for i in idx:
        api.get_more_info(int(i), "cifar10-valid", hp="200", is_random=False)
        api.simulate_train_eval(int(i), "cifar10", hp="12", account_time=False)
    per_pair_ms = (time.perf_counter() - t0) / idx.size * 1e3
    assert per_pair_ms < 5, per_pair_ms


# --- a table converted from NATS-Bench's own release layout: per seed, per epoch, costs -------
@pytest.fixture(scope="module")
def nats_api(tmp_path_factory):
    from test_import_natsbench import write_release

    from nasbench_lab.tables.import_natsbench import import_natsbench

    d = write_release(tmp_path_factory.mktemp("nats") / "NATS-tss-v1_0-3ffb9-simple")
    with pytest.raises(CompatError, match="is a NATS-Bench release.*import natsbench"):
        create(str(d), "tss")
    out = tmp_path_factory.mktemp("tables")
    import_natsbench(d, out / "nats.h5", log=lambda s: None, progress=False)
    return create(str(out), "tss", seed=0)


def test_on_a_converted_nats_release(nats_api):
    from test_import_natsbench import _value

    api = nats_api
    assert set(api.datasets) == {"cifar10-valid", "cifar10", "cifar100", "ImageNet16-120"}
    # one trial (seed 777), hp 12: exactly the release's values and NATS-Bench's time arithmetic
    info = api.get_more_info(6111, "cifar10-valid", hp="12", is_random=777)
    assert set(info) == KEYS_C10V
    assert info["train-accuracy"] == pytest.approx(_value(6111, "cifar10-valid", "12", 777, 0, 11), abs=1e-4)
    assert info["valid-accuracy"] == pytest.approx(_value(6111, "cifar10-valid", "12", 777, 2, 11), abs=1e-4)
    assert info["test-accuracy"] == pytest.approx(_value(6111, "cifar10-valid", "12", 777, 3, 11), abs=1e-4)
    assert (info["train-per-time"], info["train-all-time"]) == (pytest.approx(5.0), pytest.approx(60.0))
    assert (info["valid-per-time"], info["valid-all-time"]) == (pytest.approx(1.0), pytest.approx(12.0))
    assert (info["test-per-time"], info["test-all-time"]) == (pytest.approx(2.0), pytest.approx(24.0))
    early = api.get_more_info(6111, "cifar10-valid", iepoch=5, hp="12", is_random=777)
    assert early["train-all-time"] == pytest.approx(30.0) and early["valid-all-time"] == pytest.approx(6.0)
    assert early["valid-accuracy"] == pytest.approx(_value(6111, "cifar10-valid", "12", 777, 2, 5), abs=1e-4)
    # is_random=False: the mean over the trials; arch 1 lacks seed 888 on cifar10-valid
    mean = api.get_more_info(1, "cifar10-valid", hp="200", is_random=False)["valid-accuracy"]
    assert mean == pytest.approx(np.mean([_value(1, "cifar10-valid", "200", s, 2, 19) for s in (777, 999)]), abs=1e-4)
    seeds = api.query_meta_info_by_index(1, hp="200").get_dataset_seeds("cifar10-valid")
    assert seeds == [777, 999]
    drawn = {api.get_more_info(1, "cifar10-valid", hp="200")["valid-accuracy"] for _ in range(30)}
    assert len(drawn) == 2  # is_random=True draws one of the two trials
    # sparse 200-epoch evaluations: ori-test only at the last epoch
    mid = api.get_more_info(6111, "cifar10-valid", iepoch=5, hp="200", is_random=888)
    with pytest.raises(Unavailable, match="not recorded in its source"):
        mid["test-accuracy"]
    # costs: FLOPs and params in millions, latency in seconds, NATS-Bench's T-* keys
    cost = api.get_cost_info(6111, "cifar10-valid")
    assert cost["flops"] == pytest.approx(10.0 + 6111) and cost["params"] == pytest.approx(0.1 + 6.111)
    assert cost["latency"] == pytest.approx(0.01 + 777e-5, rel=1e-4)
    assert (cost["T-train@epoch"], cost["T-train@total"]) == (pytest.approx(5.0), pytest.approx(60.0))
    assert (cost["T-ori-test@epoch"], cost["T-ori-test@total"]) == (pytest.approx(2.0), pytest.approx(24.0))
    acc, latency, t, total = api.simulate_train_eval(6111, "cifar10", hp="12", account_time=False)
    assert t == pytest.approx(60.0 + 1.0) and latency == pytest.approx(cost["latency"], rel=1e-3)
    with pytest.raises(Unavailable, match="valtest-accuracy"):
        api.get_more_info(6111, "cifar100", hp="12")["valtest-accuracy"]
    assert api.find_best("cifar10-valid", "x-valid", flop_max=10.5, hp="12")[0] == 0
    train = api.query_by_index(6111, "cifar10-valid", hp="12")[777].get_train(3)
    assert train["accuracy"] == pytest.approx(_value(6111, "cifar10-valid", "12", 777, 0, 3), abs=1e-4)


def test_the_nats_style_walk_through_runs(capsys):
    """analysis/nats_style_search.py: README calls vs the exports, hidden vs explicit clock."""
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "analysis" / "nats_style_search.py"
    out = runpy.run_path(str(script))["main"](20)
    if out["export"]:
        for k, v in out["export"].items():
            assert out["facade"][k] == pytest.approx(v, rel=1e-6), k
    assert out["overshoot"] > 0 and out["explicit_max"] <= 12000
    assert 89 < out["hidden_test"] < 92 and 89 < out["explicit_test"] < 92
    assert "every run overshot the budget" in capsys.readouterr().out
