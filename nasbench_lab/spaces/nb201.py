"""NAS-Bench-201's cell search space: 4 nodes, 6 edges, 5 operations per edge.

Edge order is NAS-Bench-201's: (1<-0), (2<-0), (2<-1), (3<-0), (3<-1), (3<-2); the arch
string is `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`. The official index (0..15624) is the
row order of NAS-Bench-201's own files; that order is not a formula, so the permutation
ships with the package (`nb201_official_order.npy`, derived from the MIT-licensed
NAS-Bench-201 exports; see NOTICE).
"""
from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

import numpy as np

from nasbench_lab.spaces.base import Arch, SearchSpace, SpaceError

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NONE, SKIP, CONV1, CONV3, POOL = range(5)
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))  # (to, from), NB201 order
N_NODES = 4
_SHORT = {CONV1: "c1", CONV3: "c3", POOL: "ap"}
_STRING_RE = re.compile(r"^\|(\w+)~0\|\+\|(\w+)~0\|(\w+)~1\|\+\|(\w+)~0\|(\w+)~1\|(\w+)~2\|$")
DISCONNECTED = "zero"
_INCOMING = {j: [e for e, (to, _) in enumerate(EDGES) if to == j] for j in range(1, N_NODES)}


@lru_cache(maxsize=1)
def _official_order() -> tuple[np.ndarray, np.ndarray]:
    """(codes, inverse): codes[index] = base-5 code of the arch; inverse[code] = index."""
    with resources.files("nasbench_lab.spaces").joinpath("nb201_official_order.npy").open("rb") as f:
        codes = np.load(f).astype(np.int64)
    inverse = np.empty_like(codes)
    inverse[codes] = np.arange(codes.size)
    return codes, inverse


def _code(choices) -> int:
    return sum(int(c) * 5 ** i for i, c in enumerate(choices))


def _raw_program(choices):
    """The cell as a DAG of op instances, before canonical labelling.

    Atoms are 'x' (the input) and op instances. skip_connect passes its input's atoms
    through (the identity; sums are multisets); none and any op applied to a zero node
    contribute nothing. A convolution edge is its own instance (its own weights); an
    average pool has no weights, so pools of the same input are one instance.
    Returns (instances {id: (op, sorted input ids)}, output ids, {edge: id}).
    """
    nodes: list[list[str]] = [["x"]]
    inst: dict[str, tuple[str, tuple[str, ...]]] = {}
    edge_id: dict[int, str] = {}
    for j in range(1, N_NODES):
        atoms: list[str] = []
        for e, (to, src) in enumerate(EDGES):
            op = choices[e]
            if to != j or op == NONE or not nodes[src]:
                continue
            if op == SKIP:
                atoms.extend(nodes[src])
                continue
            inputs = tuple(sorted(nodes[src]))
            iid = f"ap{inputs}" if op == POOL else f"e{e}"
            inst[iid] = (_SHORT[op], inputs)
            edge_id[e] = iid
            atoms.append(iid)
        nodes.append(atoms)
    out = tuple(sorted(nodes[-1]))
    live, stack = set(), list(out)
    while stack:
        a = stack.pop()
        if a != "x" and a not in live:
            live.add(a)
            stack.extend(inst[a][1])
    inst = {k: v for k, v in inst.items() if k in live}
    return inst, out, {e: i for e, i in edge_id.items() if i in live}


@lru_cache(maxsize=None)
def canonical_program(choices: tuple[int, ...]):
    """Canonical form of the function a cell computes, exact up to renaming op instances.

    Returns (key, instances, output, edge_labels): `instances` is a tuple of
    (label, op, input labels) in canonical order, `output` the sorted labels summed at
    the output ('x' is the input), `edge_labels` maps each edge whose op reaches the
    output to its instance label. The key is their serialisation, e.g.
    'n0=c3(x);n1=ap(n0+x);out=n1+x'; cells whose output is constant zero get 'zero'.
    Labels come from the lexicographically smallest serialisation over the orderings of
    structurally identical instances, so isomorphic programs get identical keys.
    """
    from itertools import permutations, product

    inst, out, edge_id = _raw_program(choices)
    if not out:
        return DISCONNECTED, (), (), {}
    tree: dict[str, str] = {"x": "x"}

    def t(a: str) -> str:
        if a not in tree:
            op, inputs = inst[a]
            tree[a] = f"{op}({'+'.join(sorted(t(c) for c in inputs))})"
        return tree[a]

    groups: dict[str, list[str]] = {}
    for a in sorted(inst, key=t):
        groups.setdefault(t(a), []).append(a)
    best = None
    for choice in product(*(permutations(g) for g in groups.values())):
        order = [a for g in choice for a in g]
        label = {"x": "x", **{a: f"n{i}" for i, a in enumerate(order)}}
        lines = tuple(f"{label[a]}={inst[a][0]}({'+'.join(sorted(label[c] for c in inst[a][1]))})"
                      for a in order)
        text = ";".join(lines) + ";out=" + "+".join(sorted(label[a] for a in out))
        if best is None or text < best[0]:
            best = (text, label)
    text, label = best
    order = sorted(inst, key=lambda a: int(label[a][1:]))
    instances = tuple((label[a], inst[a][0], tuple(sorted(label[c] for c in inst[a][1]))) for a in order)
    return (text, instances, tuple(sorted(label[a] for a in out)),
            {e: label[i] for e, i in edge_id.items()})


class NB201Space(SearchSpace):
    name = "nb201"
    n_decisions = 6
    n_options = 5
    ops = OPS
    edges = EDGES

    def to_string(self, arch: Arch) -> str:
        c = [OPS[o] for o in self.check(arch).choices]
        return f"|{c[0]}~0|+|{c[1]}~0|{c[2]}~1|+|{c[3]}~0|{c[4]}~1|{c[5]}~2|"

    def from_string(self, text: str) -> Arch:
        m = _STRING_RE.match(text.strip()) if isinstance(text, str) else None
        if not m:
            raise SpaceError(
                f"malformed NB201 arch string {text!r}: expected "
                "'|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' with op in " + ", ".join(OPS))
        bad = [g for g in m.groups() if g not in OPS]
        if bad:
            raise SpaceError(f"unknown NB201 op {bad[0]!r} in {text!r}; valid ops: " + ", ".join(OPS))
        return Arch(self.name, tuple(OPS.index(g) for g in m.groups()))

    def _build_enumeration(self):
        """Every cell in official order, as shared Arch objects, with the shipped canonical
        classes (see spaces/finite.py)."""
        from nasbench_lab.spaces.finite import Enumeration, arch_objects, nb201_canonical

        codes = _official_order()[0]
        digits = (codes[:, None] // 5 ** np.arange(6)[None, :]) % 5
        canon, keys = nb201_canonical()
        return Enumeration(self, arch_objects(self.name, digits), canon, keys)

    def _enum(self):
        e = self.__dict__.get("_enumeration")
        if e is None:
            from nasbench_lab.spaces.finite import enumeration

            e = enumeration(self)
        return e

    def to_index(self, arch: Arch) -> int:
        try:
            return self._enum().index[self.check(arch).choices]
        except (KeyError, TypeError):
            raise SpaceError(f"{self.name}: expected {self.n_decisions} choices in 0..{self.n_options - 1}, "
                             f"got {arch.choices!r}") from None

    def from_index(self, index: int) -> Arch:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)) \
                or not 0 <= index < self.size:
            raise SpaceError(f"{self.name} index must be an integer in 0..{self.size - 1}, got {index!r}")
        return self._enum().archs[int(index)]

    def sample(self, rng: np.random.Generator) -> Arch:
        """Uniform choices (the same draws as SearchSpace.sample), as the shared Arch object."""
        e = self.__dict__.get("_enumeration") or self._enum()
        return e.archs[e.index[tuple(rng.integers(0, self.n_options, self.n_decisions).tolist())]]

    def sample_many(self, rng: np.random.Generator, n: int) -> list[Arch]:
        """`n` uniform samples in one draw of [n, 6] integers: numpy's bounded integers take
        one 32-bit word per value, so the values and the generator's final state are those
        of `n` calls of `sample` (tests/test_space_finite.py checks it)."""
        if type(self).sample is not NB201Space.sample:  # a subclass that samples otherwise
            return super().sample_many(rng, n)
        e = self.__dict__.get("_enumeration") or self._enum()
        codes = rng.integers(0, self.n_options, (n, self.n_decisions)) @ e.code_weights
        archs, pos = e.archs, e.index_by_code
        return [archs[i] for i in pos[codes].tolist()]

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """NAS-Bench-201's mutation: pick a node (1..3), then one of its incoming edges,
        then a different op for that edge."""
        en = self.__dict__.get("_enumeration") or self._enum()
        try:  # one of the shared objects needs no check
            shared = en.archs[arch.__dict__["_index"]] is arch
        except (AttributeError, KeyError, IndexError, TypeError):
            shared = False
        if not shared:
            self.check(arch)
        incoming = _INCOMING[int(rng.integers(1, N_NODES))]
        e = incoming[int(rng.integers(len(incoming)))]
        new = int(rng.integers(self.n_options - 1))
        ch = arch.choices
        ch = ch[:e] + (new + (new >= ch[e]),) + ch[e + 1:]
        i = en.index.get(ch)
        return Arch(self.name, ch) if i is None else en.archs[i]

    def canonical_key(self, arch: Arch) -> str:
        """Canonical form of the function the cell computes (see `canonical_program`).

        `none` edges and ops applied to a zero node are dropped, `skip_connect` is the
        identity, sums are order-free multisets, every convolution edge has its own
        weights and pools of the same input coincide; two cells share a key exactly when
        their op-instance graphs are isomorphic, i.e. they compute the same function for
        corresponding weights. Cells whose output is constant zero share the key 'zero'.
        A deliberate deviation from NAS-Bench-201, whose networks still compute a
        convolution of a zero node (its BN adds a trainable constant, beta): keeping those
        would give 5,450 keys instead of 5,260 and moved final test accuracy by +0.22 +-
        0.49 points (NB201 minus ours, 6 affected cells x 3 seeds, builtin-mnist1d;
        `python analysis/zero_input_convs.py`, datasets/README.md).
        (Looked up in the precomputed classes; `canonical_program` derives them.)
        """
        try:  # the common case first: one of this space's shared objects, which carry their key
            if arch.space == self.name:
                return arch._key
        except AttributeError:
            pass
        key = self._enum().key_by_choices.get(self.check(arch).choices)
        return key if key is not None else canonical_program(tuple(arch.choices))[0]

    def canonical_program(self, arch: Arch):
        return canonical_program(self.check(arch).choices)

    def is_disconnected(self, arch: Arch) -> bool:
        return self.canonical_key(arch) == DISCONNECTED

    def live_edges(self, arch: Arch) -> tuple[bool, ...]:
        """Which edges carry a signal that reaches the output (skips included)."""
        ch = self.check(arch).choices
        inst, out, edge_id = _raw_program(ch)
        nonzero = [True, False, False, False]
        for j in range(1, N_NODES):
            nonzero[j] = any(nonzero[src] and ch[e] != NONE for e, (to, src) in enumerate(EDGES) if to == j)
        reaches = [False, False, False, bool(out)]
        for j in (2, 1, 0):
            reaches[j] = any(reaches[to] and ch[e] != NONE
                             for e, (to, src) in enumerate(EDGES) if src == j)
        return tuple(ch[e] != NONE and nonzero[src] and reaches[to] and (ch[e] == SKIP or e in edge_id)
                     for e, (to, src) in enumerate(EDGES))

    def encode_path(self, arch: Arch) -> np.ndarray:
        """BANANAS-style path encoding: one bit per op sequence of an input-to-output path
        (lengths 1, 2, 3; ops other than none): 4 + 16 + 64 = 84 features."""
        ch = self.check(arch).choices
        x = np.zeros(84, dtype=np.float32)
        paths = [((3,), 0), ((0, 4), 4), ((1, 5), 4), ((0, 2, 5), 20)]
        for edges, offset in paths:
            ops = [ch[e] for e in edges]
            if NONE in ops:
                continue
            idx = 0
            for o in ops:
                idx = idx * 4 + (o - 1)
            x[offset + idx] = 1.0
        return x


NB201 = NB201Space()


class NB201Reduced(NB201Space):
    """NB201's cell restricted to a subset of the ops (same edges, same semantics).

    Index: the plain base-k code of the choices (decision 0 least significant). Its cells
    map to NB201 cells (`to_nb201`), so canonical keys and training are NB201's.
    """

    def __init__(self, name: str, ops: tuple[str, ...]):
        bad = [o for o in ops if o not in OPS]
        if bad or len(set(ops)) != len(ops) or len(ops) < 2:
            raise SpaceError(f"reduced NB201 space needs >= 2 distinct ops from {', '.join(OPS)}, got {ops}")
        self.name = name
        self.ops = tuple(ops)
        self.n_options = len(ops)
        self._codes = tuple(OPS.index(o) for o in ops)

    def to_nb201(self, arch: Arch) -> Arch:
        return Arch(NB201.name, tuple(self._codes[c] for c in self.check(arch).choices))

    def from_nb201(self, arch: Arch) -> Arch:
        try:
            return Arch(self.name, tuple(self._codes.index(c) for c in arch.choices))
        except ValueError:
            raise SpaceError(f"{arch} uses an op outside {self.name}'s ops ({', '.join(self.ops)})") from None

    def to_string(self, arch: Arch) -> str:
        return NB201.to_string(self.to_nb201(arch))

    def from_string(self, text: str) -> Arch:
        return self.from_nb201(NB201.from_string(text))

    def _build_enumeration(self):
        """Cells by base-k code, with NB201's canonical classes of their NB201 images."""
        from nasbench_lab.spaces.finite import Enumeration, arch_objects, classes

        k = self.n_options
        digits = (np.arange(self.size)[:, None] // k ** np.arange(6)[None, :]) % k
        archs = arch_objects(self.name, digits)
        canon, keys = classes(NB201.canonical_key(self.to_nb201(a)) for a in archs)
        return Enumeration(self, archs, canon, keys)

    def is_disconnected(self, arch: Arch) -> bool:
        return NB201.is_disconnected(self.to_nb201(arch))

    def live_edges(self, arch: Arch) -> tuple[bool, ...]:
        return NB201.live_edges(self.to_nb201(arch))

    def encode_path(self, arch: Arch) -> np.ndarray:
        return NB201.encode_path(self.to_nb201(arch))


#: the small space of the small table: none, skip and conv3x3 on NB201's six edges
NB201_3OPS = NB201Reduced("nb201-3ops", ("none", "skip_connect", "nor_conv_3x3"))
