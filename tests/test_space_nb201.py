import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from nasbench_lab.spaces import NB201, Arch, SpaceError, get_space
from nasbench_lab.spaces.nb201 import EDGES, OPS

archs = st.tuples(*[st.integers(0, 4)] * 6).map(lambda c: NB201.make(c))


def test_known_official_index():
    s = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    assert NB201.to_index(NB201.from_string(s)) == 1
    assert NB201.to_string(NB201.from_index(1)) == s
    assert str(NB201.from_index(1)) == s
    s0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    assert NB201.to_string(NB201.from_index(0)) == s0


def test_index_is_a_permutation():
    seen = {NB201.from_index(i).choices for i in range(NB201.size)}
    assert len(seen) == NB201.size == 15625


@given(archs)
def test_string_and_index_round_trip(a):
    assert NB201.from_string(NB201.to_string(a)) == a
    assert NB201.from_index(NB201.to_index(a)) == a


@given(st.text(max_size=80))
def test_malformed_strings_raise_clear_error(text):
    try:
        a = NB201.from_string(text)
    except SpaceError as e:
        assert "\n" not in str(e) and "NB201" in str(e)
    else:
        assert NB201.to_string(a) == text.strip()


@pytest.mark.parametrize("bad", ["", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
                                 "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
                                 "|none~0|+|none~0|none~1|+|none~0|none~1|", None, 5])
def test_bad_strings(bad):
    with pytest.raises(SpaceError):
        NB201.from_string(bad)


@pytest.mark.parametrize("bad", [-1, 15625, 3.0, "7", True, None])
def test_bad_indices(bad):
    with pytest.raises(SpaceError, match="0..15624"):
        NB201.from_index(bad)


def test_bad_choices_and_foreign_arch():
    with pytest.raises(SpaceError):
        NB201.make([0, 1, 2])
    with pytest.raises(SpaceError):
        NB201.make([0, 1, 2, 3, 4, 5])
    with pytest.raises(SpaceError):
        NB201.to_string(Arch("other", (0,) * 6))
    with pytest.raises(SpaceError, match="unknown search space"):
        get_space("nope")


@given(archs, st.integers(0, 2**32 - 1))
def test_mutation_changes_exactly_one_edge(a, seed):
    b = NB201.mutate(a, np.random.default_rng(seed))
    assert sum(x != y for x, y in zip(a.choices, b.choices)) == 1


def test_mutation_follows_nb201_node_then_edge():
    # node 1 has one incoming edge, so edge 0 is mutated with probability 1/3
    rng = np.random.default_rng(0)
    a = NB201.make([0] * 6)
    counts = np.zeros(6)
    for _ in range(9000):
        b = NB201.mutate(a, rng)
        counts[[i for i in range(6) if b.choices[i] != 0][0]] += 1
    expected = np.array([1 / 3, 1 / 6, 1 / 6, 1 / 9, 1 / 9, 1 / 9]) * 9000
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


@given(archs)
def test_neighbours(a):
    nb = NB201.neighbours(a)
    assert len(nb) == 24 and len(set(nb)) == 24 and a not in nb
    assert all(sum(x != y for x, y in zip(a.choices, b.choices)) == 1 for b in nb)


def test_sampling_uniform_and_seeded():
    a = [NB201.sample(np.random.default_rng(3)) for _ in range(2)]
    assert a[0] == a[1]
    rng = np.random.default_rng(0)
    ops = np.array([NB201.sample(rng).choices for _ in range(5000)])
    freq = np.bincount(ops.ravel(), minlength=5) / ops.size
    assert np.allclose(freq, 0.2, atol=0.02)


@given(archs)
def test_encodings(a):
    x = NB201.encode_onehot(a)
    assert x.shape == (30,) and x.sum() == 6
    assert np.array_equal(x.reshape(6, 5).argmax(1), a.choices)
    p = NB201.encode_path(a)
    assert p.shape == (84,) and set(np.unique(p)) <= {0.0, 1.0}
    if NB201.is_disconnected(a):
        assert p.sum() == 0


def test_path_encoding_all_conv3():
    p = NB201.encode_path(NB201.make([3] * 6))
    # the four input-output paths use only conv3x3: one bit per path length
    assert p.sum() == 3 and p[2] == 1 and p[4 + 2 * 4 + 2] == 1 and p[20 + 2 * 16 + 2 * 4 + 2] == 1


def test_canonical_key_examples():
    key = NB201.canonical_key
    # skip then conv equals the direct conv (skip is the identity)
    a = NB201.from_string("|skip_connect~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|")
    b = NB201.from_string("|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|")
    assert key(a) == key(b)
    # an op applied to a zero node contributes nothing
    c = NB201.from_string("|none~0|+|none~0|nor_conv_1x1~1|+|nor_conv_3x3~0|none~1|avg_pool_3x3~2|")
    assert key(c) == key(b)
    # sums are order-free: swapping the roles of nodes 1 and 2
    d = NB201.from_string("|nor_conv_1x1~0|+|avg_pool_3x3~0|none~1|+|none~0|skip_connect~1|skip_connect~2|")
    e = NB201.from_string("|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|skip_connect~1|skip_connect~2|")
    assert key(d) == key(e)
    # multiplicity matters: x + x is not x
    f = NB201.from_string("|skip_connect~0|+|none~0|none~1|+|skip_connect~0|skip_connect~1|none~2|")
    g = NB201.from_string("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
    assert key(f) != key(g)
    assert NB201.is_disconnected(NB201.make([0] * 6)) and key(NB201.make([0] * 6)) == "zero"


def _numeric_cell(arch, x, weights, pool):
    """Evaluate a cell edge by edge: each convolution edge uses the weights of its canonical
    instance label, pools are one fixed nonlinear map, skip is the identity, none is 0."""
    labels = NB201.canonical_program(arch)[3]
    nodes = [x]
    for j in range(1, 4):
        s = np.zeros_like(x)
        for e, (to, src) in enumerate(EDGES):
            op = arch.choices[e]
            if to != j or op == 0 or not np.any(nodes[src]):
                continue
            if op == 1:
                s = s + nodes[src]
            elif op == 4:
                s = s + pool(nodes[src])
            elif e in labels:  # a convolution whose output reaches the cell output
                s = s + np.tanh(weights[(op, labels[e])] @ nodes[src])
            else:  # a dead convolution: any weights, it must not matter
                s = s + np.tanh(weights[(op, "dead")] @ nodes[src])
        nodes.append(s)
    return nodes[3]


def test_canonical_key_equals_function_identity():
    """Independent check of the key on all 15,625 cells: evaluate each cell edge by edge with
    random nonlinear ops, giving each convolution the weights of its canonical instance.
    Cells with the same key must give the same output (the key's instance correspondence is
    a weight correspondence), and cells with different keys different outputs."""
    rng = np.random.default_rng(0)
    weights = {(op, f"n{i}"): rng.normal(size=(12, 12)) for op in (2, 3) for i in range(6)}
    weights.update({(op, "dead"): rng.normal(size=(12, 12)) for op in (2, 3)})
    P = rng.normal(size=(12, 12))
    pool = lambda v: np.sin(P @ v)  # noqa: E731
    x = rng.normal(size=12)
    by_value, by_key = {}, {}
    for i in range(NB201.size):
        a = NB201.from_index(i)
        v = tuple(np.round(_numeric_cell(a, x, weights, pool), 8))
        k = NB201.canonical_key(a)
        by_value.setdefault(v, set()).add(k)
        by_key.setdefault(k, set()).add(v)
    assert len(by_key) == len(by_value) == 5260
    assert all(len(s) == 1 for s in by_value.values())
    assert all(len(s) == 1 for s in by_key.values())
    assert len([i for i in range(NB201.size) if NB201.is_disconnected(NB201.from_index(i))]) == 341


def test_one_conv_counted_twice_is_not_two_convs():
    once = NB201.from_string("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|skip_connect~1|skip_connect~2|")
    two = NB201.from_string("|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|skip_connect~1|none~2|")
    assert NB201.canonical_key(once) == "n0=c3(x);out=n0+n0"
    assert NB201.canonical_key(two) == "n0=c3(x);n1=c3(x);out=n0+n1"
    # pools have no weights: two pools of the same input are one function
    p1 = NB201.from_string("|avg_pool_3x3~0|+|none~0|skip_connect~1|+|none~0|skip_connect~1|skip_connect~2|")
    p2 = NB201.from_string("|avg_pool_3x3~0|+|none~0|none~1|+|avg_pool_3x3~0|skip_connect~1|none~2|")
    assert NB201.canonical_key(p1) == NB201.canonical_key(p2)


@given(archs)
def test_live_edges_consistent_with_key(a):
    live = NB201.live_edges(a)
    pruned = NB201.make([c if ok else 0 for c, ok in zip(a.choices, live)])
    assert NB201.canonical_key(pruned) == NB201.canonical_key(a)
    assert OPS[0] == "none"
