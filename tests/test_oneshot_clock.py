"""oneshot/clock.py: a one-shot search's CPU seconds put on the table's time scale."""
from nasbench_lab.strategies.oneshot.base import OneShotResult
from nasbench_lab.strategies.oneshot.clock import UNSCALED, TimeFactor, time_factor
from nasbench_lab.strategies.oneshot.scoring import table_protocol, to_record
from nasbench_lab.tables.table import open_table


def test_a_machine_the_table_calibrated_gets_its_fitted_factor():
    t = open_table("nb201-mnist1d-hard")
    cal = t.time_calibration(None)
    ref = cal["reference"]
    other = next(m for m, fit in cal["machines"].items() if m != ref and "median_factor" in fit)
    f_ref = time_factor(t, table_protocol(t), machine=ref)
    f_other = time_factor(t, table_protocol(t), machine=other)
    assert f_ref.factor == 1.0 and "time reference" in f_ref.basis
    assert f_other.factor == cal["machines"][other]["median_factor"] != 1.0
    assert "calibration fit" in f_other.basis and other in f_other.basis


def test_another_machine_is_measured_against_the_table():
    t = open_table("nb201-mnist1d")  # built before machines were recorded: nothing to look up
    f = time_factor(t, table_protocol(t), machine="a machine the table never saw")
    assert 0.05 < f.factor < 20 and f.basis.startswith("measured on this machine")
    assert "a machine the table never saw" in f.basis
    assert time_factor(t, table_protocol(t), machine="a machine the table never saw") == f  # once per process


def test_the_record_charges_the_scaled_cost_and_keeps_the_measured_one():
    t = open_table("nb201-mnist1d")
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    res = OneShotResult(method="rsps", params={}, seed=0, protocol=table_protocol(t).to_dict(), arch=arch,
                        search_seconds=10.0, train_seconds=9.0, select_seconds=1.0)
    r = to_record(res, t, run=0, base_seed=0, time_factor=TimeFactor(0.5, "test"))
    assert r.time == [5.0] and r.cost == [5.0] and r.meta["search_cpu_seconds"] == 10.0
    assert r.meta["time_factor"] == {"factor": 0.5, "basis": "test"}
    old = to_record(res, t, run=0, base_seed=0)  # no factor: unscaled, and said so
    assert old.time == [10.0] and old.meta["time_factor"] == UNSCALED.to_dict()
    assert TimeFactor.from_dict(None) == UNSCALED
    assert TimeFactor.from_dict(r.meta["time_factor"]) == TimeFactor(0.5, "test")
