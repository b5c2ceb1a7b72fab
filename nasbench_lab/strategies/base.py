"""The ask/tell interface every search strategy implements.

A strategy never sees a table. The runner asks it for the next query (`ask`), makes the
query, charges the simulated clock, and tells it what a researcher would have seen
(`tell`): an `Observation`, which has no test metrics by construction. Strategies take a
`numpy.random.Generator` and never touch global random state.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.spaces import Arch, SearchSpace


@dataclass(frozen=True)
class Ask:
    """A query request: train `arch` to `epoch` of the search schedule (None: its last epoch).

    Asking again for an architecture already trained to an earlier epoch continues that
    training: the runner charges only the extra epochs plus one validation pass.
    """

    arch: Arch
    epoch: int | None = None


@dataclass(frozen=True)
class Observation:
    """What a query returns to a strategy: training and validation metrics and the cost.

    There are deliberately no test metrics here. `valid_acc` may be NaN (a failed
    training); strategies must cope with that.
    """

    arch: Arch
    epoch: int
    valid_acc: float
    valid_loss: float
    train_acc: float
    train_loss: float
    cost: float   # simulated seconds charged for this query
    time: float   # simulated clock after this query
    #: the run's objectives (`SearchContext.objectives`) measured for this query, in that order:
    #: valid_acc then static cost metrics; () in a plain accuracy run (see nasbench_lab.objectives)
    objectives: tuple = ()
    #: False when the cell breaks the run's constraint (--max-params); valid_acc is then NaN
    feasible: bool = True


@dataclass(frozen=True)
class SearchContext:
    """What a strategy may know about the problem besides its observations."""

    space: SearchSpace
    fidelities: tuple[int, ...]  # epochs of the search schedule a query may ask for
    max_queries: int | None = None
    max_seconds: float | None = None
    #: what the run optimises: valid_acc (maximised) then cost metrics (minimised)
    objectives: tuple[str, ...] = ("valid_acc",)
    max_params: float | None = None  # cells with more parameters are infeasible

    @property
    def max_epoch(self) -> int:
        return self.fidelities[-1]


class Strategy:
    """Base class. Subclass, set `name` and `defaults`, implement `ask` and `tell`.

    `defaults` documents every parameter and its default; `__init__` accepts keyword
    overrides of exactly those. `expected_failures` maps a conformance check name to the
    reason the strategy is known to fail it.
    """

    name: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}
    expected_failures: ClassVar[dict[str, str]] = {}
    #: True when the method never pays twice for a canonical key (checked by the suite)
    deduplicates: ClassVar[bool] = False

    def __init__(self, context: SearchContext, rng: np.random.Generator, **params: Any):
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise NasbenchError(
                f"strategy {self.name!r} has no parameter {unknown[0]!r}; valid: "
                + (", ".join(f"{k}={v!r}" for k, v in self.defaults.items()) or "(none)"))
        if not isinstance(rng, np.random.Generator):
            raise NasbenchError(f"strategy {self.name!r} needs a numpy.random.Generator, got {type(rng).__name__}")
        self.context = context
        self.space = context.space
        self.rng = rng
        self.params: dict[str, Any] = {**self.defaults, **params}

    @classmethod
    def asked_proxies(cls, params: dict[str, Any]) -> tuple[str, ...]:
        """The zero-cost proxies (ProxyAsk names) a run with the full parameters `params`
        will ask for; checked against the table before any run starts. None by default."""
        return ()

    def ask(self) -> Ask | None:
        """The next query, or None when the strategy has nothing left to ask."""
        raise NotImplementedError

    def tell(self, ask: Ask, obs: Observation) -> None:
        """Receive the result of a query made from `ask`."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.params.items())})"


def score(obs: Observation) -> float:
    """Validation accuracy with NaN mapped to -inf (a failed training is the worst)."""
    v = obs.valid_acc
    return float("-inf") if v != v else float(v)


@dataclass
class SeenKeys:
    """Canonical keys already queried, so that a strategy need not pay twice for a cell."""

    space: SearchSpace
    keys: set = field(default_factory=set)

    def add(self, arch: Arch) -> None:
        self.keys.add(self.space.canonical_key(arch))

    def __contains__(self, arch: Arch) -> bool:
        return self.space.canonical_key(arch) in self.keys
