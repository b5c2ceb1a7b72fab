"""Everything about a small finite space that can be computed once: every architecture as one
shared `Arch` object, the index of every choice vector, canonical-key classes and encodings.

`enumeration(space)` builds it on first use and keeps it on the space object; the runner and
the built-in strategies use it so that a query costs a few dictionary and list look-ups
instead of re-deriving an index or a canonical key:

  archs[i]          the architecture of index i (the same object every time: spaces that
                    enumerate return these from sample/mutate, and the runner recognises
                    them by identity, so they need no re-validation)
  index[choices]    the index of a choice tuple
  key_by_choices    the canonical key of a choice tuple
  canon[i]          canonical class of index i (int32 array; `canon_list` the same as a list):
                    equal exactly when the canonical keys are equal
  keys[c]           the canonical key string of class c
  index_by_code     index of each base-k code `choices @ code_weights` (spaces' sample_many)
  onehot(), path()  [size, features] float32 encodings, built on first call

NB201's canonical classes take about a second to derive (`canonical_program` on 15,625 cells), so they
ship with the package (`nb201_canonical_class.npy`, `nb201_canonical_keys.npy`, written by
`write_nb201_canonical()`); tests/test_space_finite.py re-derives all of them and compares.
Any other finite space (NB201 reduced spaces map onto NB201's classes; small test spaces)
computes its classes at first use.
"""
from __future__ import annotations

import gc
from functools import lru_cache
from importlib import resources

import numpy as np

from nasbench_lab.spaces.base import Arch, SearchSpace

#: spaces larger than this are never enumerated (NB101's raw space is 2^21 * 3^5)
MAX_SIZE = 1_000_000
_CLASS_FILE = "nb201_canonical_class.npy"
_KEYS_FILE = "nb201_canonical_keys.npy"


class Enumeration:
    def __init__(self, space: SearchSpace, archs: list, canon: np.ndarray, keys: list):
        self.space = space
        self.archs = archs
        choices = [a.choices for a in archs]
        self.index = dict(zip(choices, range(len(archs))))
        self.canon = np.ascontiguousarray(canon, dtype=np.int32)
        self.canon_list = self.canon.tolist()
        self.keys = list(keys)
        key_of = [self.keys[c] for c in self.canon_list]
        self.key_by_choices = dict(zip(choices, key_of))
        for i, a, k in zip(range(len(archs)), archs, key_of):  # the shared objects carry their index
            d = a.__dict__                                     # and key (not fields: equality, hashing
            d["_index"] = i                                    # and repr are the Arch's own)
            d["_key"] = k
        self.size = len(archs)
        self._onehot = None
        self._path = None

    @property
    def code_weights(self) -> np.ndarray:
        """n_options ** decision: `choices @ code_weights` is a choice vector's base-k code."""
        self._codes()
        return self._weights

    @property
    def index_by_code(self) -> np.ndarray:
        """[n_options ** n_decisions] int64: the index of the choices of each base-k code."""
        self._codes()
        return self._by_code

    def _codes(self) -> None:
        if self.__dict__.get("_by_code") is None:
            sp = self.space
            self._weights = sp.n_options ** np.arange(sp.n_decisions, dtype=np.int64)
            codes = np.array([a.choices for a in self.archs], dtype=np.int64) @ self._weights
            by_code = np.full(sp.n_options ** sp.n_decisions, -1, dtype=np.int64)
            by_code[codes] = np.arange(self.size)
            self._by_code = by_code

    def key_of(self, index: int) -> str:
        return self.keys[self.canon_list[index]]

    def onehot(self) -> np.ndarray:
        if self._onehot is None:
            ch = np.array([a.choices for a in self.archs], dtype=np.int64)
            n_dec, n_opt = ch.shape[1], self.space.n_options
            x = np.zeros((self.size, n_dec, n_opt), dtype=np.float32)
            x[np.arange(self.size)[:, None], np.arange(n_dec)[None, :], ch] = 1.0
            self._onehot = x.reshape(self.size, -1)
        return self._onehot

    def path(self) -> np.ndarray:
        if self._path is None:
            self._path = np.stack([self.space.encode_path(a) for a in self.archs]).astype(np.float32)
        return self._path


def enumeration(space: SearchSpace) -> Enumeration | None:
    """The space's precomputed enumeration, or None for a space that cannot be enumerated
    (no index, an `is_valid` filter, or more than MAX_SIZE architectures)."""
    e = space.__dict__.get("_enumeration")
    if e is not None:
        return e
    if getattr(space, "is_valid", None) is not None:
        return None
    try:
        size = space.size
    except Exception:  # an unbound space (no index)
        return None
    if size > MAX_SIZE:
        return None
    build = getattr(space, "_build_enumeration", None)
    was = gc.isenabled()
    gc.disable()  # tens of thousands of new objects, none of them garbage: collections only cost (3x)
    try:
        e = build() if build is not None else _generic(space)
    finally:
        if was:
            gc.enable()
    space.__dict__["_enumeration"] = e
    return e


def _generic(space: SearchSpace) -> Enumeration:
    archs = [space.from_index(i) for i in range(space.size)]
    canon, keys = classes([space.canonical_key(a) for a in archs])
    return Enumeration(space, archs, canon, keys)


def classes(key_per_index) -> tuple[np.ndarray, list]:
    """(class id per index, key per class), classes numbered by first appearance."""
    ids: dict = {}
    canon = np.fromiter((ids.setdefault(k, len(ids)) for k in key_per_index), dtype=np.int32)
    return canon, list(ids)


@lru_cache(maxsize=1)
def nb201_canonical() -> tuple[np.ndarray, list]:
    """NB201's canonical class per official index and the key of every class (shipped)."""
    pkg = resources.files("nasbench_lab.spaces")
    with pkg.joinpath(_CLASS_FILE).open("rb") as f:
        canon = np.load(f, allow_pickle=False)
    with pkg.joinpath(_KEYS_FILE).open("rb") as f:
        keys = [k.decode("ascii") for k in np.load(f, allow_pickle=False).tolist()]
    return canon, keys


def derive_nb201_canonical() -> tuple[np.ndarray, list]:
    """Recompute NB201's classes from `canonical_program` (about a second)."""
    from nasbench_lab.spaces.nb201 import NB201, canonical_program

    return classes(canonical_program(NB201.from_index(i).choices)[0] for i in range(NB201.size))


def write_nb201_canonical(directory) -> None:
    """Regenerate the shipped files (run after changing `canonical_program`)."""
    from pathlib import Path

    canon, keys = derive_nb201_canonical()
    d = Path(directory)
    np.save(d / _CLASS_FILE, canon.astype(np.int16 if len(keys) < 2 ** 15 else np.int32))
    np.save(d / _KEYS_FILE, np.array([k.encode("ascii") for k in keys]))


def arch_objects(name: str, choices: np.ndarray) -> list:
    """One Arch per row of an integer [n, decisions] array (built without the frozen
    dataclass's __init__, which sets each field through object.__setattr__: the same objects)."""
    new = object.__new__
    out = []
    for row in choices.tolist():
        a = new(Arch)
        a.__dict__.update(space=name, choices=tuple(row))
        out.append(a)
    return out


__all__ = ["Enumeration", "enumeration", "classes", "nb201_canonical", "derive_nb201_canonical",
           "write_nb201_canonical", "arch_objects", "MAX_SIZE"]
