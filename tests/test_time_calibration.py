"""A table trained on several machines puts its times on one machine's scale
(tables/calibration.py): the measured times are kept, the factors are sealed with the data,
a resume from the table does not scale twice, and a damaged factor is a one-line error."""
import re
import shutil

import h5py
import numpy as np
import pytest

from nasbench_lab.cli import main
from nasbench_lab.live.protocol import Protocol
from nasbench_lab.tables import Table
from nasbench_lab.tables.build import _part_name, _write_part, build_table, make_plan
from nasbench_lab.tables.calibration import MIN_ENTRIES, fit_time_scale
from nasbench_lab.tables.integrity import TableError
from nasbench_lab.spaces import get_space

TINY = Protocol(name="tiny-test", n_train=256, n_valid=128, n_test=128, epochs=2, batch_size=64,
                channels=4, latency_repeats=1)
KW = dict(protocol=TINY, space="nb201-3ops", progress=False, log=lambda *a: None)
FAST, SLOW = "Fast CPU (x86_64); openblas X; numpy 2", "Slow CPU (x86_64); openblas Y; numpy 2"


def _synthetic_journal(out, n_slow: int, rng=np.random.default_rng(0)):
    """A journal of every nb201-3ops cell x seeds 0, 1 with made-up curves: the first cells
    trained by FAST, the last `n_slow` by SLOW, whose times are 2x and grow faster with FLOPs."""
    build_table(out, seeds=[0, 1], max_jobs=0, **KW)  # the journal folder and its build.json
    plan = make_plan(get_space("nb201-3ops"), [0, 1])
    parts = out.with_name(out.name + ".parts")
    flops = {}
    for i, k in enumerate(plan.keys):
        f = float(rng.uniform(1e4, 1e5))
        flops[k] = f
        slow = i >= len(plan.keys) - n_slow
        for s in (0, 1):
            per_epoch = (2.0 * (f / 3e4) ** 1.2 if slow else (f / 3e4) ** 0.8) * rng.lognormal(0, 0.05)
            r = {m: np.full(2, 50.0 + s) for m in ("train_acc", "valid_acc", "test_acc")}
            r.update({m: np.full(2, 1.0) for m in ("train_loss", "valid_loss", "test_loss")})
            r.update(train_time=per_epoch * np.arange(1, 3), valid_time=np.full(2, 0.1 * per_epoch),
                     test_time=np.full(2, 0.1 * per_epoch), params=1000.0, flops=f, latency_ms=0.1,
                     machine=SLOW if slow else FAST)
            _write_part(parts, k, s, r)
    return plan, parts


def test_times_of_two_machines_come_on_one_scale_and_stay_measured(tmp_path):
    out = tmp_path / "t.h5"
    plan, parts = _synthetic_journal(out, n_slow=40)  # 80 slow trainings of distinct cells
    build_table(out, seeds=[0, 1], max_jobs=0, **KW)
    with Table(out) as t:
        sch = t.default_schedule
        raw, cal = t.array(sch, "train_time", measured=True), t.array(sch, "train_time")
        codes, machines = t.built_on()
        scale = t.time_scale()
        fast, slow = codes == machines.index(FAST), codes == machines.index(SLOW)
        assert (scale[fast] == 1).all() and np.array_equal(raw[fast], cal[fast])
        # the measured times are stored unchanged (the journal's, as float32)
        k = plan.keys[-1]
        stored = np.load(parts / _part_name(k, 0))["train_time"].astype(np.float32)
        assert np.array_equal(raw[plan.representative[k], 0], stored)
        # slow's times were about 2x fast's; calibrated, their medians agree within 10%
        assert np.median(raw[slow, -1]) > 1.5 * np.median(raw[fast, -1])
        assert abs(np.median(cal[slow, -1]) / np.median(cal[fast, -1]) - 1) < 0.1
        v = t.array(sch, "valid_time")
        assert np.allclose(v[slow], t.array(sch, "valid_time", measured=True)[slow] * scale[slow][:, None])
        q = t.query(plan.representative[k], seed=0)  # a query's cost is on the reference scale
        assert q.train_time == pytest.approx(float(cal[plan.representative[k], 0, -1]))
        cal_info = t.time_calibration()
        assert cal_info["reference"] == FAST and cal_info["machines"][SLOW]["trainings"] == 80
        assert t.check() == []
        digest = t.content_hash
    # resume from the table alone (journal gone): the journal gets the measured times back,
    # so the reassembled table is the same, not scaled twice
    shutil.rmtree(parts)
    build_table(out, seeds=[0, 1], max_jobs=0, **KW)
    with Table(out) as t:
        assert t.content_hash == digest
        assert np.array_equal(t.array(t.default_schedule, "train_time"), cal)


def test_info_names_the_calibration(tmp_path, capsys):
    out = tmp_path / "t.h5"
    _synthetic_journal(out, n_slow=40)
    build_table(out, seeds=[0, 1], max_jobs=0, **KW)
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "times: on the scale of Fast CPU" in text and "Slow CPU x0." in text


def test_too_few_trainings_of_a_machine_stay_uncalibrated(tmp_path):
    out = tmp_path / "t.h5"
    _synthetic_journal(out, n_slow=MIN_ENTRIES // 2 - 5)  # fewer than MIN_ENTRIES trainings
    build_table(out, seeds=[0, 1], max_jobs=0, **KW)
    with Table(out) as t:
        assert (t.time_scale() == 1).all()
        assert "uncalibrated" in t.time_calibration()["machines"][SLOW]


def test_one_machine_needs_no_calibration():
    n, S = 200, 2
    rng = np.random.default_rng(1)
    t = rng.uniform(1, 2, (n, S))
    present = np.ones((n, S), bool)
    flops = rng.uniform(1e4, 1e5, n)
    assert fit_time_scale(t, present, np.zeros((n, S), int), ["A"], flops, np.arange(n)) is None
    # nothing recorded at all: no reference machine to calibrate to
    assert fit_time_scale(t, present, np.full((n, S), -1), [], flops, np.arange(n)) is None


def _reseal(out, change):
    from nasbench_lab.tables import integrity

    with h5py.File(out, "r+") as f:
        change(f["schedules/2"])
        integrity.seal(f)


@pytest.mark.parametrize("change, problem", [
    (lambda g: g["time_scale"].__setitem__((0, 0), -1.0), "not finite and within"),
    (lambda g: g["time_scale"].__setitem__((0, 0), np.nan), "not finite and within"),
    (lambda g: (g.__delitem__("time_scale"), g.create_dataset("time_scale", data=np.ones(3))),
     "time_scale is float64 \\(3,\\)"),
    (lambda g: g.attrs.__setitem__("time_calibration", "{not json"), "time_calibration is not valid JSON"),
])
def test_a_damaged_calibration_is_a_table_error(tmp_path, change, problem):
    out = tmp_path / "t.h5"
    _synthetic_journal(out, n_slow=40)
    build_table(out, seeds=[0, 1], max_jobs=0, **KW)
    _reseal(out, change)
    with Table(out) as t:
        with pytest.raises(TableError, match=problem):
            t.array("2", "train_time")
            t.time_calibration()
        assert any(re.search(problem, p) for p in t.check())


def test_a_factor_changed_after_sealing_fails_its_checksum(tmp_path):
    out = tmp_path / "t.h5"
    _synthetic_journal(out, n_slow=40)
    build_table(out, seeds=[0, 1], max_jobs=0, **KW)
    with h5py.File(out, "r+") as f:
        ds = f["schedules/2/time_scale"]
        a = ds[()]
        a[-1, 0] *= 2
        ds[...] = a
    with Table(out) as t, pytest.raises(TableError, match="checksum|changed"):
        t.array("2", "train_time")
    assert main(["info", str(out), "--check"]) == 1


# --- review: the fit's corner cases, and factors an attacker (or a bad copy) could leave --------

def _two_machines(n=400, f=None, slow_factor=2.0):
    rng = np.random.default_rng(2)
    flops = rng.uniform(1e4, 1e5, n) if f is None else f
    codes = np.zeros((n, 1), int)
    codes[n // 2:] = 1
    t = ((flops / 3e4) ** 0.8)[:, None] * np.where(codes == 1, slow_factor, 1.0)
    return t, np.ones((n, 1), bool), codes, flops


def test_a_reference_whose_cells_share_one_flops_value_does_not_flatten_the_other_machine():
    # the reference A trained only cells of one FLOPs value: its fit has no slope, so the other
    # machine (2x slower at every size) is compared at that value, not flattened to a constant
    t, present, codes, flops = _two_machines()
    flops[:200] = 3e4
    t[:200] = 1.0
    scale, cal = fit_time_scale(t, present, codes, ["A", "B"], flops, np.arange(400))
    assert cal["reference"] == "A"
    assert np.allclose(scale[200:], 0.5, rtol=1e-4)  # was 0.19..1.2 (B's times all made ~equal)


@pytest.mark.parametrize("case, why", [
    ("disjoint", "does not overlap"),  # B saw only FLOPs A never saw: no factor without extrapolating
    ("steep", "implausible fit"),  # factors of 1e-40: not a CPU
])
def test_a_machine_the_fit_cannot_compare_stays_uncalibrated(case, why):
    n = 400
    f = np.where(np.arange(n) < 200, np.linspace(1e4, 2e4, n), np.linspace(8e4, 1e5, n)) if case == "disjoint" else None
    t, present, codes, flops = _two_machines(n, f)
    if case == "steep":
        t[200:] = (flops[200:, None] / 1e4) ** 40
    scale, cal = fit_time_scale(t, present, codes, ["A", "B"], flops, np.arange(n))
    assert (scale == 1).all() and why in cal["machines"]["B"]["uncalibrated"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("built") / "t.h5"
    _synthetic_journal(out, n_slow=40, rng=np.random.default_rng(0))
    build_table(out, seeds=[0, 1], max_jobs=0, **KW)
    return out


def _set_scale(g, a):
    del g["time_scale"]
    g.create_dataset("time_scale", data=a)


def _account(g, change):
    import json

    cal = json.loads(g.attrs["time_calibration"])
    change(cal)
    g.attrs["time_calibration"] = json.dumps(cal)


@pytest.mark.parametrize("change, problem", [
    (lambda g: _set_scale(g, g["time_scale"][()].astype(np.float16)), "float16 .* expected float32"),
    (lambda g: _set_scale(g, g["time_scale"][()] * 1e6), "not finite and within 1/100..100"),
    (lambda g: _set_scale(g, g["time_scale"][()] * 1e-30), "not finite and within 1/100..100"),
    (lambda g: _set_scale(g, np.where(g["time_scale"][()] == 1, 3.0, g["time_scale"][()]).astype(np.float32)),
     "factors other than 1"),  # the reference machine's entries scaled
    (lambda g: g.attrs.__delitem__("time_calibration"), "no attr time_calibration"),
    (lambda g: g.__delitem__("time_scale"), "factors were removed"),
    (lambda g: _account(g, lambda c: c.__setitem__("machines", [1, 2])), "not an account of a fit"),
    (lambda g: _account(g, lambda c: c.__setitem__("reference", "Evil CPU")), "not an account of a fit"),
])
def test_tampered_factors_are_one_line_errors_and_info_check_fails(built, tmp_path, capsys, change, problem):
    out = tmp_path / "t.h5"
    shutil.copy(built, out)
    _reseal(out, change)  # resealed: the checksums agree, the content is what is wrong
    with Table(out) as t:
        with pytest.raises(TableError, match=problem):
            t.array("2", "train_time")
        problems = t.check()
        assert len(problems) == 1 and re.search(problem, problems[0])
    assert main(["info", str(out), "--check"]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_factors_added_to_a_table_not_sealed_per_array_are_refused(tmp_path):
    # the whole-file hash of older tables (the built-in ones) does not cover time_scale, so one
    # added there would scale every cost without any checksum failing
    from nasbench_lab.tables.registry import resolve_table

    out = tmp_path / "old.h5"
    shutil.copy(resolve_table("nb201-3ops-small"), out)
    with h5py.File(out, "r+") as f:
        assert "hash_scheme" not in f.attrs
        for g in f["schedules"].values():
            g.create_dataset("time_scale", data=np.full(g["present"].shape, 50.0, np.float32))
            g.attrs["time_calibration"] = '{"reference": "x", "machines": {}}'
    with Table(out) as t:
        with pytest.raises(TableError, match="not sealed per array"):
            t.array(t.default_schedule, "train_time")
        assert any("not sealed per array" in p for p in t.check())


@pytest.mark.parametrize("value", [-1.0, np.inf])
def test_a_journal_entry_with_a_negative_or_infinite_time_is_refused_at_assembly(tmp_path, value):
    # it used to be written into a table that then refused every read of its times
    from nasbench_lab import NasbenchError
    from nasbench_lab.tables.build import _read_part

    out = tmp_path / "t.h5"
    plan, parts = _synthetic_journal(out, n_slow=40, rng=np.random.default_rng(0))
    p = parts / _part_name(plan.keys[3], 1)
    r = _read_part(p)
    r["train_time"] = np.full_like(r["train_time"], value)
    np.savez(p, **r)
    with pytest.raises(NasbenchError, match=f"{p.name} is damaged \\(train_time holds negative or infinite"):
        build_table(out, seeds=[0, 1], max_jobs=0, **KW)
