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
        """Validate a choice vector and return the architecture."""
        try:
            ch = tuple(int(c) for c in choices)
        except (TypeError, ValueError):
            raise SpaceError(f"{self.name}: choices must be integers, got {choices!r}") from None
        if len(ch) != self.n_decisions or any(not 0 <= c < self.n_options for c in ch):
            raise SpaceError(
                f"{self.name}: expected {self.n_decisions} choices in 0..{self.n_options - 1}, "
                f"got {ch!r}")
        return Arch(self.name, ch)

    def check(self, arch: Arch) -> Arch:
        if not isinstance(arch, Arch) or arch.space != self.name:
            raise SpaceError(f"{self.name}: not an architecture of this space: {arch!r}")
        return arch

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
