"""NAS-Bench-101 space: pruning, the graph hash (isomorphism invariance), validity,
string/spec/index conversions, sampling and mutation."""
from __future__ import annotations

import numpy as np
import pytest

from nasbench_lab.spaces import SpaceError, get_space
from nasbench_lab.spaces.nb101 import (MAX_EDGES, NB101, N_DECISIONS, OPS, graph_hash, labels_of, prune,
                                       spec_hash)

C3, C1, MP = OPS
IN, OUT = "input", "output"
# the example cell of NAS-Bench-101's README
README_M = [[0, 1, 1, 1, 0, 1, 0],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 1, 0, 0],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 0]]
README_OPS = [IN, C1, C3, C3, C3, MP, OUT]


def _relabel(m, ops, perm):
    """Vertex v of the result is vertex perm[v] of the input."""
    m = np.asarray(m)
    return m[np.ix_(perm, perm)], [ops[p] for p in perm]


def test_registered():
    assert get_space("nb101") is not None and get_space("nb101").name == "nb101"


def test_hash_is_invariant_to_vertex_order():
    # vertices 1, 2, 5 are interchangeable positions (all fed by input, all into output)
    h = spec_hash(README_M, README_OPS)
    for perm in ([0, 2, 1, 3, 4, 5, 6], [0, 5, 2, 3, 4, 1, 6], [0, 1, 5, 3, 4, 2, 6], [0, 3, 4, 1, 2, 5, 6]):
        m2, ops2 = _relabel(README_M, README_OPS, perm)
        if np.tril(m2).any():  # must stay a topological order
            continue
        assert spec_hash(m2, ops2) == h


def test_hash_invariance_on_random_cells():
    rng = np.random.default_rng(1)
    checked = 0
    for _ in range(300):
        a = NB101.sample(rng)
        m, ops = NB101.to_spec(a, pruned=True)
        n = m.shape[0]
        perm = [0] + list(rng.permutation(np.arange(1, n - 1))) + [n - 1]
        m2, ops2 = _relabel(m, ops, perm)
        h = graph_hash(m, labels_of(ops))
        if np.tril(m2).any():
            # the hash itself does not need a topological order
            assert graph_hash(m2, labels_of(ops2)) == h
            continue
        assert spec_hash(m2, ops2) == h == NB101.hash(a)
        checked += 1
    assert checked > 30


def test_hash_distinguishes_ops_and_edges():
    h = spec_hash(README_M, README_OPS)
    assert spec_hash(README_M, [IN, C3, C3, C3, C3, MP, OUT]) != h
    m = np.array(README_M)
    m[0, 4] = 1
    assert spec_hash(m, README_OPS) != h
    # same op multiset, different wiring
    chain = [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    fan = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
    assert spec_hash(chain, [IN, C3, C1, OUT]) != spec_hash(fan, [IN, C3, C1, OUT])
    # ...but a chain of two different ops in the two orders differs too (labels along a path)
    assert spec_hash(chain, [IN, C3, C1, OUT]) != spec_hash(chain, [IN, C1, C3, OUT])


def test_hash_regression_value():
    """Pinned value of this implementation for the README cell. NOT checked against an
    official NAS-Bench-101 hash (none was at hand); it guards against silent changes."""
    assert spec_hash(README_M, README_OPS) == "28cfc7874f6d200472e1a9dcd8650aa0"


def test_pruning_like_modelspec():
    # vertex 2 has an input edge but does not reach the output; vertex 3 is unreachable
    m = [[0, 1, 1, 0, 0],
         [0, 0, 0, 0, 1],
         [0, 0, 0, 0, 0],
         [0, 0, 0, 0, 1],
         [0, 0, 0, 0, 0]]
    ops = [IN, C3, MP, C1, OUT]
    pm, pops = prune(m, ops)
    assert pm.tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]] and pops == [IN, C3, OUT]
    assert spec_hash(m, ops) == spec_hash([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [IN, C3, OUT])
    # input not connected to output: invalid
    assert prune([[0, 1, 0], [0, 0, 0], [0, 0, 0]], [IN, C3, OUT]) is None
    assert spec_hash([[0, 1, 0], [0, 0, 0], [0, 0, 0]], [IN, C3, OUT]) is None
    # a direct input->output edge alone is valid (2 vertices)
    assert spec_hash([[0, 1], [0, 0]], [IN, OUT]) is not None


def test_edge_limit_counts_after_pruning():
    full = np.triu(np.ones((7, 7), dtype=int), 1)  # 21 edges
    assert spec_hash(full, [IN, C3, C3, C3, C3, C3, OUT]) is None
    # 10 edges, one of them into a dead-end vertex: 9 after pruning, valid
    m = np.zeros((7, 7), dtype=int)
    for i, j in ((0, 1), (1, 2), (2, 3), (3, 4), (4, 6), (0, 6), (1, 6), (2, 6), (3, 6), (0, 5)):
        m[i, j] = 1
    assert int(m.sum()) == MAX_EDGES + 1
    assert spec_hash(m, [IN, C3, C1, MP, C3, C3, OUT]) is not None
    m[1, 5] = 0
    m[1, 4] = 1  # 10 live edges
    assert spec_hash(m, [IN, C3, C1, MP, C3, C3, OUT]) is None


def test_spec_string_round_trip_and_padding():
    a = NB101.from_spec(README_M, README_OPS)
    assert len(a.choices) == N_DECISIONS
    s = NB101.to_string(a)
    assert s.endswith("|input,conv1x1-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,maxpool3x3,output")
    assert NB101.from_string(s) == a
    small = NB101.from_spec([[0, 1, 1], [0, 0, 1], [0, 0, 0]], [IN, MP, OUT])
    assert NB101.hash(small) == spec_hash([[0, 1, 1], [0, 0, 1], [0, 0, 0]], [IN, MP, OUT])
    pm, pops = NB101.to_spec(small, pruned=True)
    assert pm.tolist() == [[0, 1, 1], [0, 0, 1], [0, 0, 0]] and pops == [IN, MP, OUT]
    assert NB101.from_string("011,001,000|input,maxpool3x3,output") == small


@pytest.mark.parametrize("bad,match", [
    ("0110", "expected"), ("01,00,00|input,output", "square"), ("012,001,000|input,maxpool3x3,output", "square"),
    ("011,001,000|input,conv5x5,output", "unknown op"), ("011,001,000|conv3x3-bn-relu,maxpool3x3,output", "first op"),
    ("011,101,000|input,maxpool3x3,output", "upper-triangular"),
])
def test_bad_strings(bad, match):
    with pytest.raises(SpaceError, match=match):
        NB101.from_string(bad)


def test_index_binding_round_trip():
    rng = np.random.default_rng(3)
    archs = {NB101.hash(a): a for a in (NB101.sample(rng) for _ in range(50))}
    hashes = sorted(archs)
    space = NB101.bind(hashes, [archs[h].choices for h in hashes])
    assert space.size == len(hashes)
    for i, h in enumerate(hashes):
        assert space.to_index(archs[h]) == i
        assert space.from_index(i) == archs[h]
    with pytest.raises(SpaceError, match="not in this table's index"):
        other = next(a for a in (NB101.sample(rng) for _ in range(100)) if NB101.hash(a) not in archs)
        space.to_index(other)
    with pytest.raises(SpaceError, match="no official index"):
        NB101.to_index(archs[hashes[0]])
    with pytest.raises(SpaceError, match="sorted and unique"):
        NB101.bind(hashes[::-1], [archs[h].choices for h in hashes[::-1]])
    with pytest.raises(SpaceError, match="0..49|0.."):
        space.from_index(len(hashes))


def test_sample_mutate_neighbours():
    rng = np.random.default_rng(0)
    a = NB101.sample(rng)
    assert a == NB101.sample(np.random.default_rng(0))  # seeded
    for _ in range(50):
        a = NB101.sample(rng)
        assert NB101.is_valid(a)
        b = NB101.mutate(a, rng)
        assert NB101.is_valid(b)
        assert sum(x != y for x, y in zip(a.choices, b.choices)) == 1
        assert all(x <= 1 for x in b.choices[:21])
    nb = NB101.neighbours(a)
    assert nb and all(NB101.is_valid(x) and sum(p != q for p, q in zip(a.choices, x.choices)) == 1 for x in nb)
    x = NB101.encode_onehot(a)
    assert x.shape == (36,) and x[21:].sum() == 5
    with pytest.raises(SpaceError, match="0 or 1"):
        NB101.make([2] + [0] * 25)
