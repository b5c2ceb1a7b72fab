"""Live backend: cell semantics, same-key-same-function, trainer, data splits, CLI."""
import itertools
import json
import subprocess
import sys
from collections import defaultdict

import numpy as np
import pytest

from nasbench_lab import NasbenchError
from nasbench_lab.live.data import load_data
from nasbench_lab.live.layers import ReLU
from nasbench_lab.live.network import Cell, Network, ReLUConvBN, compile_cell
from nasbench_lab.live.protocol import (BUILTIN_PROTOCOL, DIGITS_PROTOCOL, SMALL_PROTOCOL,
                                        Protocol)
from nasbench_lab.live.trainer import train_architecture
from nasbench_lab.spaces import NB201
from nasbench_lab.spaces.nb201 import EDGES, NONE, SKIP

TINY = SMALL_PROTOCOL.replace(name="tiny", n_train=256, n_valid=200, n_test=200, epochs=2,
                              batch_size=64, latency_repeats=1)


@pytest.fixture(scope="module")
def key_classes():
    classes = defaultdict(list)
    for ch in itertools.product(range(5), repeat=6):
        a = NB201.make(ch)
        classes[NB201.canonical_key(a)].append(a)
    return classes


def test_compiled_program_is_the_canonical_program(key_classes):
    assert len(key_classes) == 5260
    for key, members in key_classes.items():
        for a in members[:3]:
            _, instances, _, _ = NB201.canonical_program(a)
            prog = compile_cell(a.choices)
            labels = sorted(ins[-1] for ins in prog if ins[0] in ("rcb", "pool"))
            assert labels == sorted(label for label, _, _ in instances)


def test_only_live_ops_are_instantiated(key_classes):
    for members in list(key_classes.values())[::37]:
        for a in members[:2]:
            live = NB201.live_edges(a)
            n_param_ops = sum(1 for e, on in enumerate(live)
                              if on and a.choices[e] not in (NONE, SKIP))
            prog = compile_cell(a.choices)
            n_ops = sum(1 for ins in prog if ins[0] in ("rcb", "pool"))
            assert n_ops <= n_param_ops  # pools of the same input are computed once


def physical_cell(cell: Cell, arch, x, train):
    """Edge-by-edge NB201 evaluation of a cell (float64): each convolution edge uses the
    module of its canonical instance label, pools a fresh pool: the reference the compiled
    program must match. Edges that do not reach the output are skipped (they feed only
    nodes whose value is not used)."""
    from nasbench_lab.live.layers import AvgPool3

    by_label = {ins[-1]: cell.ops[ins[1]] for ins in cell.prog if ins[0] in ("rcb", "pool")}
    edge_label = NB201.canonical_program(arch)[3]
    vals = [x]
    for j in range(1, 4):
        acc = None
        for e, (to, src) in enumerate(EDGES):
            o = arch.choices[e]
            if to != j or o == NONE or vals[src] is None:
                continue
            if o == SKIP:
                v = vals[src]
            elif e not in edge_label:
                continue
            else:
                m = by_label[edge_label[e]]
                if isinstance(m, ReLUConvBN):
                    v = m.forward(ReLU().forward(vals[src]).copy(), train).copy()
                else:
                    v = AvgPool3(x.ndim - 2).forward(vals[src], train).copy()
            acc = v.copy() if acc is None else acc + v
        vals.append(acc)
    return vals[3] if vals[3] is not None else np.zeros_like(x)


@pytest.mark.parametrize("train", [True, False])
def test_compiled_cell_matches_edge_by_edge_evaluation(train, key_classes):
    rng = np.random.default_rng(0)
    keys = sorted(key_classes)[::97]
    for key in keys:
        for a in key_classes[key][:3]:
            from nasbench_lab.live.network import Init

            cell = Cell(a.choices, 4, 1, Init(3, np.float64), "s0c0")
            for m in cell.ops.values():  # non-trivial BN state for eval mode
                if isinstance(m, ReLUConvBN):
                    m.bn.running_mean[:] = rng.standard_normal(4)
                    m.bn.running_var[:] = rng.uniform(0.5, 2, 4)
                    m.bn.params["beta"][:] = rng.standard_normal(4)
            x = rng.standard_normal((6, 5, 4))
            ref = physical_cell(cell, a, x, train)
            got = cell.forward(x, train)
            np.testing.assert_allclose(got, ref, atol=1e-10, err_msg=str(a))


@pytest.mark.parametrize("ndim", [1, 2])
def test_same_canonical_key_same_function(ndim, key_classes):
    rng = np.random.default_rng(1)
    shape = (12, 6, 1) if ndim == 1 else (6, 6, 6, 1)
    x = rng.standard_normal(shape)
    classes = [m for m in key_classes.values() if len(m) >= 2]
    picked = classes[::len(classes) // 12][:12]
    for members in picked:
        a, b = members[0], members[-1]
        assert a.choices != b.choices
        na = Network(a, C=4, N=2, ndim=ndim, seed=7, dtype=np.float64)
        nb = Network(b, C=4, N=2, ndim=ndim, seed=7, dtype=np.float64)
        assert na.n_params() == nb.n_params()
        np.testing.assert_allclose(na.forward(x, True), nb.forward(x, True), atol=1e-12)
        np.testing.assert_allclose(na.forward(x, False), nb.forward(x, False), atol=1e-12)
    # and a different key gives a different function
    a = NB201.from_string("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|")
    b = NB201.from_string("|nor_conv_1x1~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|")
    fa = Network(a, C=4, N=1, ndim=ndim, seed=7, dtype=np.float64).forward(x, True)
    fb = Network(b, C=4, N=1, ndim=ndim, seed=7, dtype=np.float64).forward(x, True)
    assert np.abs(fa - fb).max() > 1e-3


def test_same_key_trains_to_identical_results():
    a = NB201.from_string("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|")
    b = NB201.from_string("|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|skip_connect~2|")
    c = NB201.from_string("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|")
    assert NB201.canonical_key(a) == NB201.canonical_key(c) != NB201.canonical_key(b)
    ra, rc = train_architecture(a, TINY, 0), train_architecture(c, TINY, 0)
    np.testing.assert_array_equal(ra.test_acc, rc.test_acc)
    np.testing.assert_array_equal(ra.train_loss, rc.train_loss)


def test_disconnected_cell_predicts_at_chance():
    a = NB201.from_string("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|none~2|")
    assert NB201.is_disconnected(a)
    net = Network(a, C=4, N=1, seed=0)
    assert net.blocks[0].layers == []  # nothing instantiated in the cell
    data = load_data(TINY)
    net.forward(data.train.x[:, :64], True)
    logits = net.forward(np.ascontiguousarray(data.test.x), False)
    assert np.ptp(logits, axis=0).max() < 1e-5  # input independent
    r = train_architecture(a, TINY, 0)
    counts = np.bincount(data.test.y, minlength=10) / len(data.test)
    assert r.test_acc[-1] <= 100 * counts.max() + 1e-9
    assert r.test_acc[-1] < 20


def test_determinism_and_seed_dependence():
    a = "|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_1x1~0|none~1|skip_connect~2|"
    r1, r2 = train_architecture(a, TINY, 5), train_architecture(a, TINY, 5)
    r3 = train_architecture(a, TINY, 6)
    for k in ("train_loss", "train_acc", "valid_loss", "valid_acc", "test_loss", "test_acc"):
        np.testing.assert_array_equal(getattr(r1, k), getattr(r2, k))
    assert not np.array_equal(r1.train_loss, r3.train_loss)
    assert r1.params == r3.params and r1.flops == r3.flops
    assert r1.eval_time.shape == (TINY.epochs, 2)
    assert np.all(r1.train_time > 0) and r1.latency_ms > 0


def test_determinism_across_processes():
    a = "|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_1x1~0|none~1|skip_connect~2|"
    code = ("import json, sys; from nasbench_lab.live.trainer import train_architecture;"
            "from nasbench_lab.live.protocol import Protocol;"
            "p = Protocol.from_dict(json.loads(sys.argv[1]));"
            f"r = train_architecture({a!r}, p, 5);"
            "print(json.dumps([float(v) for v in r.train_loss] + [float(v) for v in r.test_acc]))")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(TINY.to_dict())],
                         capture_output=True, text=True, check=True).stdout
    r = train_architecture(a, TINY, 5)
    assert json.loads(out) == [float(v) for v in r.train_loss] + [float(v) for v in r.test_acc]


def test_splits_disjoint_fixed_and_sized():
    for prot in (TINY, DIGITS_PROTOCOL):
        d = load_data(prot)
        tr, va, te = set(d.train_index), set(d.valid_index), set(d.test_index)
        assert not (tr & va) and not (tr & te) and not (va & te)
        assert (len(tr), len(va), len(te)) == (prot.n_train, prot.n_valid, prot.n_test)
        assert len(d.train) == prot.n_train and d.train.x.dtype == np.float32
    other = load_data(TINY.replace(data_seed=1))
    assert not np.array_equal(other.train.y, load_data(TINY).train.y)


def test_mnist1d_generation_leaves_global_rng_alone():
    import random

    from nasbench_lab.live.data import mnist1d_pool

    np.random.seed(123)
    random.seed(123)
    mnist1d_pool(30, 99)
    assert np.random.randint(1 << 30) == np.random.RandomState(123).randint(1 << 30)
    assert random.random() == random.Random(123).random()


def test_digits_network_trains_above_chance():
    prot = DIGITS_PROTOCOL.replace(epochs=3, latency_repeats=1)
    r = train_architecture(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
        prot, 0)
    assert r.test_acc[-1] > 60


def test_protocol_round_trip_and_defaults():
    d = BUILTIN_PROTOCOL.to_dict()
    assert Protocol.from_dict(d) == BUILTIN_PROTOCOL
    assert json.loads(json.dumps(d)) == d
    with pytest.raises(Exception):
        BUILTIN_PROTOCOL.epochs = 3  # frozen


def test_result_to_dict_is_json():
    r = train_architecture("|skip_connect~0|+|none~0|none~1|+|none~0|none~1|avg_pool_3x3~2|",
                           TINY, 0)
    d = json.loads(json.dumps(r.to_dict()))
    assert len(d["test_acc"]) == TINY.epochs and d["protocol"]["name"] == "tiny"


def test_cli_train_json_and_errors(capsys):
    from nasbench_lab.live.cli import main

    assert main(["train", "|nor_conv_1x1~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|",
                 "--protocol", "small-mnist1d", "--epochs", "1", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert len(d["test_acc"]) == 1
    assert main(["train", "|nope|"]) == 2
    assert "malformed" in capsys.readouterr().err
    import argparse

    from nasbench_lab.live.cli import add_train_parser, run_train

    ap = argparse.ArgumentParser()
    add_train_parser(ap.add_subparsers())
    with pytest.raises(NasbenchError):
        run_train(ap.parse_args(["train", "|x~0|"]))
    with pytest.raises(NasbenchError):
        run_train(ap.parse_args(["train", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
                                 "--epochs", "0"]))


def test_train_many_in_processes_matches_sequential():
    from nasbench_lab.live.trainer import train_many

    jobs = [("|nor_conv_1x1~0|+|none~0|none~1|+|none~0|skip_connect~1|avg_pool_3x3~2|", 0),
            ("|nor_conv_1x1~0|+|none~0|none~1|+|none~0|skip_connect~1|avg_pool_3x3~2|", 1)]
    par = train_many(jobs, TINY, n_jobs=2)
    seq = [train_architecture(a, TINY, s) for a, s in jobs]
    for p, s in zip(par, seq):
        np.testing.assert_array_equal(p.test_acc, s.test_acc)
        np.testing.assert_array_equal(p.train_loss, s.train_loss)
