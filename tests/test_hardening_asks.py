"""Issue 17, asks are validated exactly: architectures (type, space, tuple of ints, length, range
per decision; numpy ints accepted, bools and floats refused) and epochs (an integer the schedule
records, or None), in every space, through the Python API (space, runner, Table.query, compat)
and through `nasbench-lab run` / `compare` with a strategy file: one line naming the strategy,
exit 2."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasbench_lab import NasbenchError
from nasbench_lab.asks import AskError
from nasbench_lab.cli import main
from nasbench_lab.runner import Budget, RunRecord, SearchView, run_loop
from nasbench_lab.spaces import NB101, NB201, NB201_3OPS, Arch, SpaceError, get_space
from nasbench_lab.strategies import Ask
from nasbench_lab.tables import Table, open_table
from nasbench_lab.testing import TINY

SPACES = [NB201, NB201_3OPS, NB101, TINY]


def _valid(space, ch) -> bool:
    return len(ch) == space.n_decisions and all(0 <= c < k for c, k in zip(ch, space.option_counts))


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.name)
@settings(max_examples=150, deadline=None)
@given(ch=st.lists(st.integers(-3, 6), min_size=0, max_size=30))
def test_check_accepts_exactly_the_valid_int_tuples(space, ch):
    arch = Arch(space.name, tuple(ch))
    if _valid(space, ch):
        assert space.check(arch) is arch
        assert space.check(Arch(space.name, tuple(np.int64(c) for c in ch))) is not None  # numpy ints too
        assert space.make(ch) == arch and space.make(np.asarray(ch)) == arch  # lists and arrays via make
        assert all(type(c) is int for c in space.make(np.asarray(ch)).choices)
    else:
        with pytest.raises(SpaceError, match=space.name):
            space.check(arch)
        with pytest.raises(SpaceError):
            space.make(ch)


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.name)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_non_integers_are_refused_at_any_position(space, data):
    ok = [0] * space.n_decisions
    i = data.draw(st.integers(0, space.n_decisions - 1))
    bad = data.draw(st.sampled_from([True, False, 0.0, 1.0, np.float64(1.0), np.float32(0.0), np.bool_(True),
                                     "1", None, (0,), 1 + 0j]))
    ch = ok[:i] + [bad] + ok[i + 1:]
    with pytest.raises(SpaceError, match=f"choice {i} must be"):
        space.check(Arch(space.name, tuple(ch)))
    with pytest.raises(SpaceError):
        space.make(ch)


@pytest.mark.parametrize("arch, match", [
    (Arch("nb201", (-1, 0, 0, 0, 0, 0)), "choice 0 is -1"),      # was index 7581
    (Arch("nb201", (0, 0, 0, 0, 0, 5)), "choice 5 is 5"),
    (Arch("nb201", (0, 0, 0, 0, 0)), "expected 6 choices, got 5"),
    (Arch("nb201", (0,) * 7), "expected 6 choices, got 7"),
    (Arch("nb201", (0.0, 0, 0, 0, 0, 0)), "choice 0 must be an integer"),  # was index 1651
    (Arch("nb201", (True, 0, 0, 0, 0, 0)), "got bool"),                     # was index 2384
    (Arch("nb201", [0, 0, 0, 0, 0, 0]), "must be a tuple"),
    (Arch("nb201", ((0, 0), 0, 0, 0, 0, 0)), "got tuple"),                  # nested
    (Arch("nb201", None), "must be a tuple"),
    (Arch("nb201", "000000"), "must be a tuple"),
    (Arch("nb201-3ops", (0, 0, 0, 0, 0, 0)), "not an architecture of this space"),  # wrong space name
    (None, "not an architecture"),
    ((0, 0, 0, 0, 0, 0), "not an architecture"),
])
def test_issue_cases_on_nb201(arch, match):
    with pytest.raises(SpaceError, match=match):
        NB201.to_index(arch)


def test_issue_cases_on_nb201_3ops_and_nb101():
    with pytest.raises(SpaceError, match="choice 0 is -1"):  # was row 728
        NB201_3OPS.to_index(Arch("nb201-3ops", (-1, 0, 0, 0, 0, 0)))
    with pytest.raises(SpaceError, match="choice 2 is 3"):
        NB201_3OPS.to_index(Arch("nb201-3ops", (0, 0, 3, 0, 0, 0)))
    edges, ops = (1,) + (0,) * 20, (0,) * 5
    with pytest.raises(SpaceError, match="choice 21 is -1"):  # OPS[-1] used to be read
        NB101.hash(Arch("nb101", edges + (-1, 0, 0, 0, 0)))
    with pytest.raises(SpaceError, match="choice 3 is 2, it must be 0 or 1"):
        NB101.hash(Arch("nb101", (1, 0, 0, 2) + (0,) * 17 + ops))
    with pytest.raises(SpaceError, match="choice 25 must be an integer"):
        NB101.hash(Arch("nb101", edges + (0, 0, 0, 0, 1.0)))


# --------------------------------------------------------------------------- the runner


class Fixed:
    """A strategy that asks one given thing after a first valid query."""

    def __init__(self, space, ask):
        self.space, self.bad, self.n = space, ask, 0

    def ask(self):
        self.n += 1
        return Ask(self.space.from_index(0)) if self.n == 1 else self.bad

    def tell(self, ask, obs):
        pass


@pytest.fixture(scope="module")
def small_view():
    return SearchView(open_table("nb201-3ops-small"), None, None)  # schedule '3': epochs 1, 2, 3


def _run(view, ask, name="mine"):
    rec = RunRecord(meta={"strategy": name})
    run_loop(Fixed(view.table.space, ask), view, np.zeros(view.table.n_archs), Budget(queries=3), rec)
    return rec


A0 = Arch("nb201-3ops", (0, 1, 2, 0, 1, 2))
BAD_ASKS = [
    (Ask(Arch("nb201-3ops", (-1, 0, 0, 0, 0, 0))), "architecture: nb201-3ops: .*choice 0 is -1"),
    (Ask(Arch("nb201-3ops", (0, 0, 0, 0, 0, 3))), "choice 5 is 3"),
    (Ask(Arch("nb201-3ops", (0, 0, 0, 0, 0))), "expected 6 choices, got 5"),
    (Ask(Arch("nb201-3ops", (0, 0, 0, 0, 0, 0.0))), "choice 5 must be"),
    (Ask(Arch("nb201-3ops", (0, 0, 0, 0, 0, np.float64(1)))), "choice 5 must be"),
    (Ask(Arch("nb201-3ops", (0, 0, 0, 0, 0, True))), "got bool"),
    (Ask(Arch("nb201-3ops", [0, 0, 0, 0, 0, 0])), "must be a tuple"),
    (Ask(Arch("nb201", (0, 0, 0, 0, 0, 0))), "not an architecture of this space"),
    (Ask(None), "not an architecture of this space"),
    (Ask("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"), "not an architecture of this space"),
    (Ask(A0, epoch=2.7), "epoch: .*got float 2.7"),
    (Ask(A0, epoch=2.0), "got float 2.0"),
    (Ask(A0, epoch=np.float64(2)), "got float64"),
    (Ask(A0, epoch="2"), "got str '2'"),
    (Ask(A0, epoch=True), "got bool"),
    (Ask(A0, epoch=-1), "epoch -1 is not recorded"),
    (Ask(A0, epoch=0), "epoch 0 is not recorded"),
    (Ask(A0, epoch=4), "epoch 4 is not recorded"),
    (Ask(A0, epoch=[2]), "got list"),
]


@pytest.mark.parametrize("ask, match", BAD_ASKS, ids=range(len(BAD_ASKS)))
def test_runner_refuses_a_malformed_ask_naming_the_strategy(small_view, ask, match):
    with pytest.raises(AskError, match=f"^strategy 'mine' asked for an invalid .*{match}"):
        _run(small_view, ask)


@pytest.mark.parametrize("ask", [Ask(A0), Ask(A0, epoch=2), Ask(A0, epoch=np.int64(2)), Ask(A0, epoch=None),
                                 Ask(Arch("nb201-3ops", tuple(np.int32(c) for c in A0.choices)), epoch=1)])
def test_runner_accepts_numpy_ints_and_none(small_view, ask):
    rec = _run(small_view, ask)
    assert rec.n_queries == 3 and rec.arch[1] == NB201_3OPS.to_index(A0)


def test_table_query_and_compat_refuse_non_integer_epochs():
    t = open_table("nb201-3ops-small")
    assert t.query(5, epoch=np.int64(2), seed="mean").epoch == 2
    for ep in (2.7, "2", True, 2.0):
        with pytest.raises(NasbenchError, match="epoch must be an integer"):
            t.query(5, epoch=ep, seed="mean")
    from nasbench_lab.compat import CompatError, create

    api = create("nb201-cifar10-valid", "tss", fast_mode=True, verbose=False)
    assert api.get_more_info(1, "cifar10-valid", hp="12", iepoch=np.int64(11), is_random=False)
    for bad in (10.5, "11", True):
        with pytest.raises(CompatError, match="invalid iepoch"):
            api.get_more_info(1, "cifar10-valid", hp="12", iepoch=bad, is_random=False)


# --------------------------------------------------------------------------- NB101 tables


@pytest.fixture(scope="module")
def nb101_view(tmp_path_factory):
    from test_import_nb101 import records  # the NB101 fixture cells (5 unique, 108 epochs)

    from nasbench_lab.tables.import_nb101 import import_nb101, write_tfrecords

    d = tmp_path_factory.mktemp("nb101asks")
    write_tfrecords(d / "x.tfrecord", records())
    (p,) = import_nb101(d / "x.tfrecord", d / "nb101.h5", log=lambda s: None, progress=False)
    return SearchView(Table(p), None, None)


def test_runner_on_nb101_refuses_out_of_range_and_foreign_cells(nb101_view):
    space = nb101_view.table.space
    a = space.from_index(1)
    ch = a.choices
    for bad, match in ((ch[:21] + (-1,) + ch[22:], "choice 21 is -1"), (ch[:21] + (3,) + ch[22:], "choice 21 is 3"),
                       ((2,) + ch[1:], "choice 0 is 2"), (ch[:-1], "expected 26 choices, got 25"),
                       (ch[:-1] + (1.0,), "choice 25 must be")):
        with pytest.raises(AskError, match=f"strategy 'mine' asked for an invalid architecture: nb101: .*{match}"):
            _run(nb101_view, Ask(Arch("nb101", bad)))
    other = NB101.from_spec([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "conv1x1-bn-relu", "output"])
    with pytest.raises(AskError, match="not in this table's index"):
        _run(nb101_view, Ask(other))
    assert _run(nb101_view, Ask(Arch("nb101", tuple(np.int64(c) for c in ch)))).arch[1] == 1


# --------------------------------------------------------------------------- the CLI


STRATEGY = '''
import numpy as np
from nasbench_lab.spaces import Arch
from nasbench_lab.strategies import Ask, Strategy


class BadAsk(Strategy):
    """One valid query, then the malformed ask of this file."""
    name = "bad-ask"

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        self.n = 0

    def ask(self):
        self.n += 1
        if self.n == 1:
            return Ask(self.space.sample(self.rng))
        return {expr}

    def tell(self, ask, obs):
        pass
'''
CLI_CASES = [
    ("Ask(Arch('nb201-3ops', (-1, 0, 0, 0, 0, 0)))", "choice 0 is -1"),
    ("Ask(Arch('nb201-3ops', (0, 0, 0, 0, 0, 2.0)))", "choice 5 must be"),
    ("Ask(Arch('nb201-3ops', [0, 0, 0, 0, 0, 0]))", "must be a tuple"),
    ("Ask(self.space.sample(self.rng), epoch=2.7)", "got float 2.7"),
    ("Ask(self.space.sample(self.rng), epoch='2')", "got str"),
    ("Ask(self.space.sample(self.rng), epoch=-3)", "epoch -3 is not recorded"),
]


@pytest.mark.parametrize("k", range(len(CLI_CASES)))
def test_cli_run_with_a_malformed_strategy_file_is_one_line_exit_2(tmp_path, capsys, k):
    expr, match = CLI_CASES[k]
    f = tmp_path / f"bad{k}.py"
    f.write_text(textwrap.dedent(STRATEGY.format(expr=expr)))
    workers = ["--workers", "2"] if k == 0 else []  # the error travels back from a worker process too
    code = main(["run", "--strategy", f"{f}:BadAsk", "--table", "nb201-3ops-small", "--budget-queries", "3",
                 "--runs", "2", "--out", str(tmp_path / "out"), *workers])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("nasbench-lab: error: strategy 'bad-ask' asked for an invalid") and match in err, err


def test_cli_compare_with_a_malformed_strategy_file_is_one_line_exit_2(tmp_path, capsys):
    f = tmp_path / "badc.py"
    f.write_text(textwrap.dedent(STRATEGY.format(expr="Ask(Arch('nb201-3ops', (0, 0, True, 0, 0, 0)))")))
    code = main(["compare", "--strategies", f"random,{f}:BadAsk", "--table", "nb201-3ops-small",
                 "--budget-queries", "3", "--runs", "2", "--out", str(tmp_path / "cmp")])
    _, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("nasbench-lab: error: strategy 'bad-ask' asked for an invalid "
                                                    "architecture: nb201-3ops: choice 2 must be"), err


def test_get_space_names_every_space_checked_here():
    assert {s.name for s in SPACES} >= {get_space(n).name for n in ("nb201", "nb201-3ops", "nb101")}


RAISING = '''
from nasbench_lab.strategies import Ask, Strategy


class Raising(Strategy):
    """Raises in {where}."""
    name = "raising"

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        if "{where}" == "init" and context.max_queries is not None:  # (not in the up-front probe)
            raise KeyError("no such thing")

    def ask(self):
        if "{where}" == "ask":
            return self.nothing_here
        return Ask(self.space.sample(self.rng))

    def tell(self, ask, obs):
        if "{where}" == "tell":
            1 / 0
'''


@pytest.mark.parametrize("where, error, line", [("init", "KeyError: 'no such thing'", 12),
                                                ("ask", "AttributeError: 'Raising' object has no attribute", 16),
                                                ("tell", "ZeroDivisionError: division by zero", 21)])
def test_a_strategy_raising_is_one_line_with_file_and_line(tmp_path, capsys, where, error, line):
    f = tmp_path / f"raising_{where}.py"
    f.write_text(RAISING.format(where=where))
    code = main(["run", "--strategy", f"{f}:Raising", "--table", "nb201-3ops-small", "--budget-queries", "3",
                 "--runs", "1", "--out", str(tmp_path / "out")])
    _, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1, err
    assert f"strategy 'raising' raised {error}" in err and f"(raising_{where}.py line {line}, in " in err, err


@pytest.mark.parametrize("space", SPACES[:2] + [TINY], ids=lambda s: s.name)
@pytest.mark.parametrize("bad", [True, np.bool_(False), 1.0, "1", -1, None])
def test_from_index_refuses_non_integer_and_negative_indices(space, bad):
    with pytest.raises(SpaceError, match="index must be an integer"):
        space.from_index(bad)


def test_a_strategy_raising_in_the_up_front_probe_is_one_line(tmp_path, capsys):
    # run_experiment constructs every strategy once before any run; that probe reports the same way
    f = tmp_path / "raising_probe.py"
    f.write_text(RAISING.format(where="init").replace(" and context.max_queries is not None", ""))
    for argv in (["run", "--strategy", f"{f}:Raising"], ["compare", "--strategies", f"random,{f}:Raising"]):
        code = main(argv + ["--table", "nb201-3ops-small", "--budget-queries", "3", "--runs", "1",
                            "--out", str(tmp_path / argv[0])])
        _, err = capsys.readouterr()
        assert code == 2 and "Traceback" not in err and err.count("\n") == 1, err
        assert "raised KeyError: 'no such thing' (raising_probe.py line 12, in __init__)" in err, err
        assert not (tmp_path / argv[0] / "config.json").exists()
