"""NAS-Bench-101's cell search space (Ying et al., ICML 2019).

A cell is a DAG of at most 7 vertices given by a strictly upper-triangular adjacency
matrix and one op per vertex: vertex 0 is `input`, the last vertex is `output`, every
other vertex is one of `conv3x3-bn-relu`, `conv1x1-bn-relu`, `maxpool3x3`. A cell is
valid when, after pruning (below), input still reaches output and at most 9 edges are
left. NAS-Bench-101 holds 423,624 unique valid cells.

Architecture value (`Arch`): always the 7-vertex form, so every cell has the same shape:
choices[0:21]  the upper-triangle bits of the 7x7 matrix, row-major
               ((0,1), (0,2), ..., (0,6), (1,2), ..., (5,6)); 0 or 1
choices[21:26] the ops of vertices 1..5: 0 conv3x3-bn-relu, 1 conv1x1-bn-relu,
               2 maxpool3x3 (NAS-Bench-101's `available_ops` order)
A cell with fewer vertices (as stored in NAS-Bench-101's files) is padded with isolated
vertices before the output; pruning removes them again, so its hash is unchanged.

String form (nasbench_lab's own; NAS-Bench-101 has no official string):
`0110000,0001000,...,0000000|input,conv3x3-bn-relu,...,output`, the matrix rows as 0/1
digits, then the ops. `from_string` accepts 2..7 vertices and pads.

Pruning and hashing follow nasbench's `model_spec.ModelSpec._prune` / `hash_spec` and
`graph_util.hash_module` as published in google-research/nasbench (Apache-2.0),
re-implemented here from the algorithm (not copied; see `graph_hash`): vertices not on an
input-to-output path are removed, then the labelled DAG gets a Weisfeiler-Lehman-style MD5
hash, the key of NAS-Bench-101's own files. Isomorphic cells get the same hash. Checked
against the stored public copies of those files (same steps, same strings hashed, same
labels -1/-2/op index in config.py's available_ops order), and against a hash of the real
data: the cell of automl/NASLib tests/test_nb101_search_space.py (FIXED_ARCH) hashes to its
published ff940d27cbe9ed0a639a68a9c3f87283 (tests/test_import_nb101.py). The importer also
recomputes every record's hash and stops at the first mismatch.

Index: NAS-Bench-101 has no official order. A NB101 table numbers its cells by the sorted
list of their hashes and stores that list (`/nb101/hashes`) plus the cells
(`/nb101/choices`); `NB101.bind(...)` / `NB101Space.for_table(h5)` give the space with
that index. The unbound `NB101` can sample, mutate and hash, but has no index.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np

from nasbench_lab.spaces.base import Arch, SearchSpace, SpaceError

INPUT, OUTPUT = "input", "output"
OPS = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")  # nasbench config['available_ops']
N_VERTICES = 7
MAX_EDGES = 9
N_OP_SPOTS = N_VERTICES - 2
TRIU = tuple((i, j) for i in range(N_VERTICES) for j in range(i + 1, N_VERTICES))  # 21 edges
N_EDGE_BITS = len(TRIU)
N_DECISIONS = N_EDGE_BITS + N_OP_SPOTS  # 26
HASH_LEN = 32


def graph_hash(matrix, labeling) -> str:
    """nasbench's `graph_util.hash_module`: iterated MD5 hash of a labelled DAG.

    Initial vertex hash: md5 of str((out_degree, in_degree, label)); then, as many rounds
    as vertices, md5 of sorted in-neighbour hashes + '|' + sorted out-neighbour hashes
    + '|' + own hash; the fingerprint is md5 of str(sorted(hashes)). Labels: -1 input,
    -2 output, else the index of the op in OPS.
    """
    rows = np.asarray(matrix).tolist()
    n = len(rows)
    ins = [[w for w in range(n) if rows[w][v]] for v in range(n)]
    outs = [[w for w in range(n) if rows[v][w]] for v in range(n)]
    md5 = hashlib.md5
    hashes = [md5(str((len(outs[v]), len(ins[v]), int(labeling[v]))).encode("utf-8")).hexdigest()
              for v in range(n)]
    for _ in range(n):
        hashes = [md5(("".join(sorted([hashes[w] for w in ins[v]])) + "|"
                       + "".join(sorted([hashes[w] for w in outs[v]])) + "|"
                       + hashes[v]).encode("utf-8")).hexdigest() for v in range(n)]
    return hashlib.md5(str(sorted(hashes)).encode("utf-8")).hexdigest()


def prune(matrix, ops) -> tuple[np.ndarray, list[str]] | None:
    """nasbench's `ModelSpec._prune`: drop vertices not on an input->output path.
    Returns (matrix, ops) of the pruned cell, or None when input does not reach output."""
    m = np.asarray(matrix, dtype=np.int8)
    rows = m.tolist()
    n = len(rows)
    from_in, frontier = {0}, [0]
    while frontier:
        top = frontier.pop()
        for v in range(top + 1, n):
            if rows[top][v] and v not in from_in:
                from_in.add(v)
                frontier.append(v)
    from_out, frontier = {n - 1}, [n - 1]
    while frontier:
        top = frontier.pop()
        for v in range(0, top):
            if rows[v][top] and v not in from_out:
                from_out.add(v)
                frontier.append(v)
    extraneous = sorted(set(range(n)) - (from_in & from_out))
    if len(extraneous) > n - 2:
        return None
    keep = [v for v in range(n) if v not in extraneous]
    return m[np.ix_(keep, keep)].copy(), [ops[v] for v in keep]


def labels_of(ops) -> list[int]:
    return [-1] + [OPS.index(o) for o in ops[1:-1]] + [-2]


def check_spec(matrix, ops) -> tuple[np.ndarray, list[str]]:
    """Validate the raw form of a cell (shape, triangularity, ops); returns it as arrays."""
    try:
        m = np.asarray(matrix, dtype=np.int64)
    except (TypeError, ValueError):
        raise SpaceError(f"NB101: adjacency matrix is not numeric: {matrix!r}") from None
    ops = list(ops)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or not 2 <= m.shape[0] <= N_VERTICES:
        raise SpaceError(f"NB101: adjacency must be square with 2..{N_VERTICES} vertices, got shape {m.shape}")
    if len(ops) != m.shape[0]:
        raise SpaceError(f"NB101: {len(ops)} ops for a {m.shape[0]}-vertex matrix")
    if not ((m == 0) | (m == 1)).all() or np.tril(m).any():
        raise SpaceError("NB101: adjacency must be 0/1 and strictly upper-triangular")
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise SpaceError(f"NB101: first op must be {INPUT!r} and last {OUTPUT!r}, got {ops[0]!r}, {ops[-1]!r}")
    bad = [o for o in ops[1:-1] if o not in OPS]
    if bad:
        raise SpaceError(f"NB101: unknown op {bad[0]!r}; valid: {', '.join(OPS)}")
    return m.astype(np.int8), ops


def spec_hash(matrix, ops) -> str | None:
    """Official hash of a raw cell (pruned first); None when the cell is invalid
    (input not connected to output, or more than 9 edges after pruning)."""
    m, ops = check_spec(matrix, ops)
    p = prune(m, ops)
    if p is None or int(p[0].sum()) > MAX_EDGES:
        return None
    return graph_hash(p[0], labels_of(p[1]))


@lru_cache(maxsize=65536)
def _pruned_hash(choices: tuple[int, ...]) -> str | None:
    m, ops = _to_spec(choices)
    p = prune(m, ops)
    if p is None or int(p[0].sum()) > MAX_EDGES:
        return None
    return graph_hash(p[0], labels_of(p[1]))


def _to_spec(choices) -> tuple[np.ndarray, list[str]]:
    m = np.zeros((N_VERTICES, N_VERTICES), dtype=np.int8)
    for bit, (i, j) in zip(choices[:N_EDGE_BITS], TRIU):
        m[i, j] = bit
    ops = [INPUT] + [OPS[c] for c in choices[N_EDGE_BITS:]] + [OUTPUT]
    return m, ops


def _pad(m: np.ndarray, ops: list[str]) -> tuple[np.ndarray, list[str]]:
    """Embed an n-vertex cell in 7 vertices: isolated conv3x3 vertices before the output."""
    n = m.shape[0]
    if n == N_VERTICES:
        return m, ops
    big = np.zeros((N_VERTICES, N_VERTICES), dtype=np.int8)
    big[: n - 1, : n - 1] = m[: n - 1, : n - 1]
    big[: n - 1, N_VERTICES - 1] = m[: n - 1, n - 1]
    return big, ops[:-1] + [OPS[0]] * (N_VERTICES - n) + [OUTPUT]


class _IndexReader:
    """Reads the `/nb101` index (hashes, choices) of the table at `path`, opening and closing
    the file for that read alone."""

    def __init__(self, path: str):
        self.path = path

    def __call__(self):
        import h5py

        try:
            with h5py.File(self.path, "r") as f:
                grp = f["nb101"]
                return grp["hashes"][()], grp["choices"][()]
        except (OSError, KeyError) as e:
            raise SpaceError(f"NB101: cannot read the index of table {self.path} ({e}); the file was "
                             "moved or damaged after it was opened: open it again") from None


class NB101Space(SearchSpace):
    name = "nb101"
    n_decisions = N_DECISIONS
    n_options = 3
    ops = OPS

    def __init__(self, hashes=None, choices=None, loader=None):
        """hashes: sorted array of the table's cell hashes (bytes or str); choices:
        [n, 26] array of the cells in that order. `loader` (callable returning both) makes
        the index lazy: nothing is read until the first index lookup."""
        self._hashes = None if hashes is None else np.asarray(hashes, dtype=f"S{HASH_LEN}")
        self._choices = None if choices is None else np.asarray(choices, dtype=np.int8)
        self._loader = loader
        self._n = None if self._hashes is None else int(self._hashes.size)

    # --- index ------------------------------------------------------------------------------
    def bind(self, hashes, choices) -> "NB101Space":
        """The space numbered by a table's sorted hash list."""
        h = np.asarray(hashes, dtype=f"S{HASH_LEN}")
        if h.size > 1 and not np.all(h[1:] > h[:-1]):
            raise SpaceError("NB101: the hash list of an index must be sorted and unique")
        c = np.asarray(choices, dtype=np.int8)
        if c.shape != (h.size, N_DECISIONS):
            raise SpaceError(f"NB101: choices must have shape ({h.size}, {N_DECISIONS}), got {c.shape}")
        return NB101Space(h, c)

    @classmethod
    def for_table(cls, h5, n_archs: int | None = None) -> "NB101Space":
        """The space bound lazily to the `/nb101` group of an open HDF5 table. It keeps the
        file's path only, never the open file (strategies get this space: an open handle
        would hand them the table's test metrics); the index is read on first use."""
        n = int(h5["nb101"]["hashes"].shape[0]) if n_archs is None else int(n_archs)
        sp = cls(loader=_IndexReader(h5.filename))
        sp._n = n
        return sp

    def _index(self):
        if self._hashes is None:
            if self._loader is None:
                raise SpaceError("NB101 has no official index: indices come from a NB101 table "
                                 "(open one, or use NB101.bind(hashes, choices))")
            h, c = self._loader()
            self._hashes = np.asarray(h, dtype=f"S{HASH_LEN}")
            self._choices = np.asarray(c, dtype=np.int8)
            self._loader = None
        return self._hashes, self._choices

    @property
    def size(self) -> int:
        if self._n is None:
            raise SpaceError("NB101 has no official index, so no size: bind it to a NB101 table")
        return self._n

    def to_index(self, arch: Arch) -> int:
        h = self.hash(arch)
        if h is None:
            raise SpaceError(f"NB101: invalid cell (input not connected to output or more than "
                             f"{MAX_EDGES} edges): {self.to_string(arch)}")
        hashes, _ = self._index()
        key = h.encode()
        i = int(np.searchsorted(hashes, key))
        if i >= hashes.size or hashes[i] != key:
            raise SpaceError(f"NB101: cell {h} is not in this table's index")
        return i

    def from_index(self, index: int) -> Arch:
        hashes, choices = self._index()
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)) \
                or not 0 <= index < hashes.size:
            raise SpaceError(f"NB101 index must be an integer in 0..{hashes.size - 1}, got {index!r}")
        return Arch(self.name, tuple(int(c) for c in choices[index]))

    def all_archs(self):
        _, choices = self._index()
        for row in choices:
            yield Arch(self.name, tuple(int(c) for c in row))

    # --- conversions ------------------------------------------------------------------------
    def make(self, choices) -> Arch:
        arch = super().make(choices)
        if any(c > 1 for c in arch.choices[:N_EDGE_BITS]):
            raise SpaceError("NB101: edge choices (the first 21) must be 0 or 1")
        return arch

    def from_spec(self, matrix, ops) -> Arch:
        """From NAS-Bench-101's (matrix, ops) form with 2..7 vertices (padded to 7)."""
        m, ops = _pad(*check_spec(matrix, ops))
        edges = tuple(int(m[i, j]) for i, j in TRIU)
        return Arch(self.name, edges + tuple(OPS.index(o) for o in ops[1:-1]))

    def to_spec(self, arch: Arch, pruned: bool = False) -> tuple[np.ndarray, list[str]]:
        """(matrix, ops): the raw 7-vertex form, or with `pruned` NAS-Bench-101's evaluated
        form (raises SpaceError for an invalid cell)."""
        m, ops = _to_spec(self.check(arch).choices)
        if not pruned:
            return m, ops
        p = prune(m, ops)
        if p is None:
            raise SpaceError(f"NB101: input does not reach output in {self.to_string(arch)}")
        return p

    def to_string(self, arch: Arch) -> str:
        m, ops = self.to_spec(arch)
        return ",".join("".join(str(int(x)) for x in row) for row in m) + "|" + ",".join(ops)

    def from_string(self, text: str) -> Arch:
        if not isinstance(text, str) or text.count("|") != 1:
            raise SpaceError(f"malformed NB101 string {text!r}: expected 'ROW,ROW,...|input,OP,...,output' "
                             "with rows of 0/1 digits")
        rows, ops = text.strip().split("|")
        rows = rows.split(",")
        if any(not r or set(r) - {"0", "1"} or len(r) != len(rows) for r in rows):
            raise SpaceError(f"malformed NB101 string {text!r}: the matrix rows must be square 0/1 digits")
        return self.from_spec([[int(c) for c in r] for r in rows], ops.split(","))

    # --- validity, hash, canonical key ------------------------------------------------------
    def hash(self, arch: Arch) -> str | None:
        """NAS-Bench-101's hash of the pruned cell; None for an invalid cell."""
        return _pruned_hash(self.check(arch).choices)

    def is_valid(self, arch: Arch) -> bool:
        return self.hash(arch) is not None

    def canonical_key(self, arch: Arch) -> str:
        h = self.hash(arch)
        return "invalid" if h is None else h

    # --- random operations (always return valid cells) --------------------------------------
    def sample(self, rng: np.random.Generator) -> Arch:
        """NAS-Bench-101's `random_spec`: uniform edges and ops, redrawn until valid."""
        while True:
            a = Arch(self.name, tuple(int(x) for x in rng.integers(0, 2, N_EDGE_BITS))
                     + tuple(int(x) for x in rng.integers(0, len(OPS), N_OP_SPOTS)))
            if self.is_valid(a):
                return a

    @property
    def option_counts(self) -> tuple[int, ...]:
        return tuple(self._options(i) for i in range(self.n_decisions))

    def _options(self, i: int) -> int:
        return 2 if i < N_EDGE_BITS else len(OPS)

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Change exactly one decision (flip an edge or change an op), redrawn until the
        result is a valid cell (the single-change variant of NAS-Bench-101's mutation)."""
        self.check(arch)
        for _ in range(10_000):
            i = int(rng.integers(N_DECISIONS))
            k = self._options(i)
            new = int(rng.integers(k - 1))
            new += new >= arch.choices[i]
            ch = list(arch.choices)
            ch[i] = new
            cand = Arch(self.name, tuple(ch))
            if self.is_valid(cand):
                return cand
        raise SpaceError(f"NB101: no valid single-change mutation of {self.to_string(arch)}")

    def neighbours(self, arch: Arch) -> list[Arch]:
        """Every valid cell that differs in exactly one decision, in a fixed order."""
        self.check(arch)
        out = []
        for i in range(N_DECISIONS):
            for o in range(self._options(i)):
                if o != arch.choices[i]:
                    ch = list(arch.choices)
                    ch[i] = o
                    cand = Arch(self.name, tuple(ch))
                    if self.is_valid(cand):
                        out.append(cand)
        return out

    def encode_onehot(self, arch: Arch) -> np.ndarray:
        """21 edge bits, then a one-hot of 3 per op spot: 36 features."""
        ch = self.check(arch).choices
        x = np.zeros(N_EDGE_BITS + N_OP_SPOTS * len(OPS), dtype=np.float32)
        x[:N_EDGE_BITS] = ch[:N_EDGE_BITS]
        for k, o in enumerate(ch[N_EDGE_BITS:]):
            x[N_EDGE_BITS + 3 * k + o] = 1.0
        return x


NB101 = NB101Space()


def _register() -> None:
    """Make get_space('nb101') work once this module is imported. When the spaces package
    imports this module itself (while it is still initialising), it registers NB101 there."""
    try:
        from nasbench_lab.spaces import register_space, space_names
    except ImportError:  # nasbench_lab.spaces is partially initialised and will register us
        return
    if NB101.name not in space_names():
        register_space(NB101)


_register()
