"""analysis/zero_input_convs.py: the key counts documented in datasets/README.md (NB201's
BN-shift constants from convolutions of a zero node) and its faithful torch cell."""
import runpy
from pathlib import Path

import numpy as np
import pytest

from nasbench_lab.spaces import NB201

SCRIPT = Path(__file__).resolve().parent.parent / "analysis" / "zero_input_convs.py"


@pytest.fixture(scope="module")
def mod():
    return runpy.run_path(str(SCRIPT))


def test_key_counts(mod):
    lines = []
    res = mod["key_study"](lines.append)  # raises if 'b' off disagrees with canonical_program
    assert (res["n_ours"], res["n_faithful"], res["n_x"]) == (5260, 5450, 5443)
    assert sum(1 for r in res["rows"] if r["n_bias"]) == 2140


@pytest.mark.parametrize("arch, key", [
    ("|none~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|avg_pool_3x3~2|",
     "n0=ap(n1);n1=ap(x);n2=b();out=n0+n1+n2"),  # the constant passes through the pool
    ("|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|nor_conv_3x3~1|nor_conv_3x3~2|",
     "n0=b();n1=b();n2=c3(n0+n3);n3=c3(x);out=n1+n2"),
    ("|none~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|nor_conv_3x3~2|", "n0=b();n1=c3(n0);out=n1"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
     NB201.canonical_key(NB201.from_string(
         "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"))),
])
def test_faithful_keys(mod, arch, key):
    assert mod["canonical_text"](*mod["raw_program"](NB201.from_string(arch).choices)) == key


def test_faithful_cell_equals_pruned_at_init(mod):
    torch = pytest.importorskip("torch")
    import sys
    sys.path.insert(0, str(SCRIPT.parent))
    from bench_live import torch_network

    from nasbench_lab.live.protocol import SMALL_PROTOCOL

    arch = NB201.from_string("|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    faith = mod["faithful_network"](arch, SMALL_PROTOCOL, 0)
    pruned = torch_network(arch, SMALL_PROTOCOL, 0)
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(16, 1, 40)).astype(np.float32))
    with torch.no_grad():  # beta = 0 at init, so the constants are 0 and the functions agree
        assert float((faith.train()(x) - pruned.train()(x)).abs().max()) < 1e-4
    assert sum(len(b.bias_bns) for b in faith.blocks if hasattr(b, "bias_bns")) == 3 * 2
