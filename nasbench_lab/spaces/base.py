"""The search-space interface every space implements.

An architecture is an immutable, hashable value (`Arch`): the space name and a tuple of
categorical choices. A space knows how to sample, mutate, enumerate neighbours, encode
and canonicalise its architectures, and how to convert them to and from strings and
integer indices. Every random operation takes a `numpy.random.Generator`; nothing here
touches global random state.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from nasbench_lab import NasbenchError


class SpaceError(NasbenchError, ValueError):
    """A malformed architecture string, index or choice vector."""


def _is_int(c) -> bool:
    """A Python or numpy integer, not a bool (True would silently mean option 1)."""
    return (type(c) is int or isinstance(c, (int, np.integer))) and not isinstance(c, (bool, np.bool_))


@dataclass(frozen=True, order=True)
class Arch:
    """One architecture of a search space: `choices[i]` is the option taken at decision i."""

    space: str
    choices: tuple[int, ...]

    def __str__(self) -> str:  # the space's own string form
        from nasbench_lab.spaces import get_space

        return get_space(self.space).to_string(self)


class SearchSpace:
    """Base class: a product of `n_decisions` categorical choices of `n_options` each."""

    name: str = ""
    n_decisions: int = 0
    n_options: int = 0

    # --- conversions -------------------------------------------------------------------
    def make(self, choices) -> Arch:
        """Validate a choice vector (a sequence or 1-d array of integers; numpy integers are
        converted, floats, bools and strings refused) and return the architecture."""
        if isinstance(choices, (str, bytes)) or not hasattr(choices, "__len__"):
            raise SpaceError(f"{self.name}: choices must be a sequence of {self.n_decisions} integers, "
                             f"got {choices!r}")
        ch = tuple(choices.tolist() if isinstance(choices, np.ndarray) and choices.dtype.kind in "iu" else choices)
        if len(ch) == self.n_decisions and tuple(map(type, ch)) != self.__dict__.get("_fast", ((),))[0]:
            ch = tuple(int(c) if type(c) is not int and _is_int(c) else c for c in ch)  # numpy ints -> int
        return self.check(Arch(self.name, ch))

    def check(self, arch: Arch) -> Arch:
        """`arch` itself when it is exactly an architecture of this space: an `Arch` of this
        space's name whose choices are a tuple of `n_decisions` integers (numpy integers
        too, never bools or floats), each within its decision's options; else SpaceError
        (one line, naming the first problem). Cheap: an identity test for the shared objects
        of an enumerated space, else one pass over a precomputed tuple of option counts."""
        d = self.__dict__
        e = d.get("_enumeration")  # an enumerated space (spaces/finite.py)
        if e is not None:
            try:  # one of its shared objects (validated when made): an identity test
                if e.archs[arch.__dict__.get("_index", -1)] is arch:
                    return arch
            except (AttributeError, TypeError, IndexError):
                pass
        fast = d.get("_fast")
        if fast is None:
            fast = d["_fast"] = ((int,) * self.n_decisions, tuple(int(k) for k in self.option_counts))
        ch = getattr(arch, "choices", None)
        if type(arch) is Arch and type(ch) is tuple and arch.space == self.name \
                and tuple(map(type, ch)) == fast[0] \
                and (ch in e.index if e is not None else all(0 <= c < k for c, k in zip(ch, fast[1]))):
            return arch
        self._explain(arch)  # raises, except for numpy integers in range
        return arch

    def _explain(self, arch) -> None:
        """The slow path of `check`: raise a SpaceError saying what is wrong, or return when
        the architecture is valid (choices that are numpy integers)."""
        if not isinstance(arch, Arch) or arch.space != self.name:
            raise SpaceError(f"{self.name}: not an architecture of this space: {arch!r}")
        ch, bounds = arch.choices, tuple(int(k) for k in self.option_counts)
        if not isinstance(ch, tuple):
            raise SpaceError(f"{self.name}: choices must be a tuple of integers, got {type(ch).__name__} "
                             f"{ch!r}; build architectures with space.make(choices)")
        if len(ch) != len(bounds):
            raise SpaceError(f"{self.name}: expected {len(bounds)} choices, got {len(ch)}: {ch!r}")
        for i, (c, k) in enumerate(zip(ch, bounds)):
            allowed = "0 or 1" if k == 2 else f"an integer in 0..{k - 1}"
            if not _is_int(c):
                raise SpaceError(f"{self.name}: choice {i} must be {allowed}, got {type(c).__name__} {c!r}")
            if not 0 <= c < k:
                raise SpaceError(f"{self.name}: expected {len(bounds)} choices within their decisions' options; "
                                 f"choice {i} is {int(c)}, it must be {allowed}")

    def to_string(self, arch: Arch) -> str:
        raise NotImplementedError

    def from_string(self, text: str) -> Arch:
        raise NotImplementedError

    @property
    def option_counts(self) -> tuple[int, ...]:
        """Number of options of each decision (a product space: `n_options` everywhere)."""
        return (self.n_options,) * self.n_decisions

    @property
    def size(self) -> int:
        return self.n_options ** self.n_decisions

    def to_index(self, arch: Arch) -> int:
        """Index in 0..size-1 (for NB201: NAS-Bench-201's own order)."""
        raise NotImplementedError

    def from_index(self, index: int) -> Arch:
        raise NotImplementedError

    def all_archs(self) -> Iterator[Arch]:
        for i in range(self.size):
            yield self.from_index(i)

    # --- random operations -------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Arch:
        return Arch(self.name, tuple(int(c) for c in
                                     rng.integers(0, self.n_options, self.n_decisions)))

    def sample_many(self, rng: np.random.Generator, n: int) -> list[Arch]:
        """`n` samples, the same architectures as `n` calls of `sample(rng)` in a row (a space
        may draw them in one call; the generator then ends where those calls would leave it)."""
        return [self.sample(rng) for _ in range(n)]

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Change exactly one decision to a different option."""
        self.check(arch)
        i = int(rng.integers(self.n_decisions))
        new = int(rng.integers(self.n_options - 1))
        new += new >= arch.choices[i]
        ch = list(arch.choices)
        ch[i] = new
        return Arch(self.name, tuple(ch))

    def neighbours(self, arch: Arch) -> list[Arch]:
        """All architectures that differ in exactly one decision, in a fixed order."""
        self.check(arch)
        out = []
        for i in range(self.n_decisions):
            for o in range(self.n_options):
                if o != arch.choices[i]:
                    ch = list(arch.choices)
                    ch[i] = o
                    out.append(Arch(self.name, tuple(ch)))
        return out

    # --- encodings -----------------------------------------------------------------------
    def encode_onehot(self, arch: Arch) -> np.ndarray:
        self.check(arch)
        x = np.zeros((self.n_decisions, self.n_options), dtype=np.float32)
        x[np.arange(self.n_decisions), arch.choices] = 1.0
        return x.ravel()

    def canonical_key(self, arch: Arch) -> str:
        """Equal exactly for architectures that compute the same function."""
        raise NotImplementedError
