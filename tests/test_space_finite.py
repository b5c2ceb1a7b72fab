"""The precomputed enumeration of finite spaces (spaces/finite.py) agrees with the slow
definitions: shipped canonical classes, indices, sampling streams, encodings."""
import time

import numpy as np

from nasbench_lab.spaces import NB201, NB201_3OPS, Arch
from nasbench_lab.spaces.base import SearchSpace
from nasbench_lab.spaces.finite import derive_nb201_canonical, enumeration, nb201_canonical
from nasbench_lab.spaces.nb201 import _code, _official_order, canonical_program


def test_shipped_nb201_classes_equal_a_fresh_derivation():
    canon, keys = nb201_canonical()
    canon2, keys2 = derive_nb201_canonical()
    assert np.array_equal(canon, canon2) and keys == keys2
    assert len(keys) == 5260 and canon.shape == (15625,)


def test_nb201_enumeration_matches_the_definitions():
    t0 = time.perf_counter()
    e = enumeration(type(NB201)())  # a fresh space object: built from the shipped files
    assert time.perf_counter() - t0 < 5.0  # ~0.1 s on an idle machine; generous for a shared one
    inv = _official_order()[1]
    for i in range(0, NB201.size, 7):
        a = NB201.from_index(i)
        assert a is e.archs[i] or a == e.archs[i]
        assert NB201.to_index(Arch("nb201", a.choices)) == i == int(inv[_code(a.choices)])
        assert NB201.canonical_key(Arch("nb201", a.choices)) == canonical_program(a.choices)[0]
    assert np.array_equal(e.onehot()[123], NB201.encode_onehot(e.archs[123]))
    assert np.array_equal(e.path()[4567], NB201.encode_path(e.archs[4567]))


def test_sample_and_mutate_keep_their_random_streams():
    """The shared-object sample/mutate draw exactly what the plain definitions draw."""
    r1, r2 = np.random.default_rng(11), np.random.default_rng(11)
    for _ in range(300):
        a = NB201.sample(r1)
        b = SearchSpace.sample(NB201, r2)
        assert a == b and a is NB201.from_index(NB201.to_index(a))
        m = NB201.mutate(a, r1)
        node = int(r2.integers(1, 4))
        incoming = [e for e, (to, _) in enumerate(NB201.edges) if to == node]
        edge = incoming[int(r2.integers(len(incoming)))]
        new = int(r2.integers(4))
        new += new >= b.choices[edge]
        assert m.choices == tuple(new if k == edge else c for k, c in enumerate(b.choices))


def test_sample_many_draws_what_calls_of_sample_draw():
    """One [n, 6] draw gives the architectures of n calls of `sample`, shared objects, and
    leaves the generator where those calls leave it (random search draws ahead on this)."""
    from nasbench_lab.testing import TINY

    for space in (NB201, NB201_3OPS, TINY):
        for seed, n in ((0, 1), (3, 7), (11, 64), (12, 200)):
            r1, r2 = np.random.default_rng(seed), np.random.default_rng(seed)
            many = space.sample_many(r1, n)
            one = [space.sample(r2) for _ in range(n)]
            assert many == one and len(many) == n
            assert all(a is b for a, b in zip(many, one)) or space is TINY
            assert r1.bit_generator.state == r2.bit_generator.state
            assert r1.integers(1 << 30) == r2.integers(1 << 30)


def test_reduced_and_generic_spaces():
    e = enumeration(NB201_3OPS)
    for i in range(NB201_3OPS.size):
        a = NB201_3OPS.from_index(i)
        assert NB201_3OPS.to_index(a) == i == sum(c * 3 ** k for k, c in enumerate(a.choices))
        assert e.key_of(i) == NB201.canonical_key(NB201_3OPS.to_nb201(a))
    from nasbench_lab.testing import TINY

    t = enumeration(TINY)
    assert t.size == TINY.size and len(set(t.canon_list)) == len(t.keys)
    assert all(t.key_of(i) == TINY.canonical_key(TINY.from_index(i)) for i in range(TINY.size))
