"""Proxy-assisted search (Abdelfattah et al., ICLR 2021): evolution warmed up by a proxy, random search pruned by one."""
from __future__ import annotations

import math

from nasbench_lab import NasbenchError
from nasbench_lab.strategies import register
from nasbench_lab.strategies.base import Ask
from nasbench_lab.strategies.evolution import RegularizedEvolution
from nasbench_lab.strategies.proxy_asks import ProxyAsk, ProxyObservation
from nasbench_lab.strategies.random_search import RandomSearch


def _value(v: float) -> float:
    return -math.inf if v != v else v  # NaN (undefined) ranks last


@register
class ProxyWarmupREA(RegularizedEvolution):
    """Regularized evolution whose first population is the best of `warmup` proxy-scored samples.

    Parameters: population (10) and sample_size (3) as `rea`; proxy ("synflow"): the table's
    proxy to score with, or the static baseline "params" / "flops" (charged nothing);
    warmup (1000): samples scored (distinct cells where the space has them) before the first
    training, each charged its proxy's CPU seconds. The `population` best by proxy are
    trained first, then aging evolution runs as in `rea`.
    """

    name = "proxy_rea"
    defaults = {"population": 10, "sample_size": 3, "proxy": "synflow", "warmup": 1000}

    @classmethod
    def asked_proxies(cls, params):
        return (params["proxy"],) if int(params["warmup"]) > 0 else ()  # warmup 0: never asks

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        if int(self.params["warmup"]) < 0:
            raise NasbenchError("proxy_rea needs warmup >= 0")
        self._scored: dict = {}   # canonical key -> (proxy value, arch)
        self._asked_proxy = 0
        self._start: list | None = None

    def ask(self) -> Ask:
        p = self.params
        if self._asked_proxy < int(p["warmup"]):
            self._asked_proxy += 1
            key = self.space.canonical_key
            arch = self.space.sample(self.rng)
            for _ in range(20):  # prefer a cell not scored yet
                if key(arch) not in self._scored:
                    break
                arch = self.space.sample(self.rng)
            return ProxyAsk(arch, proxy=p["proxy"])
        if self._start is None:
            ranked = sorted(self._scored.values(), key=lambda t: -t[0])
            self._start = [a for _, a in ranked[:p["population"]]][::-1]
        if self._start and len(self.population) < p["population"]:
            return Ask(self._start.pop())
        return super().ask()

    def tell(self, ask, obs) -> None:
        if isinstance(obs, ProxyObservation):
            self._scored[self.space.canonical_key(ask.arch)] = (_value(obs.value), ask.arch)
            return
        super().tell(ask, obs)


@register
class ProxyPrunedRandom(RandomSearch):
    """Random search that trains, of every `candidates` fresh samples, the one the proxy ranks best.

    Parameters: proxy ("synflow", or "params" / "flops" as for `proxy_rea`); candidates (10):
    samples scored per training, each charged its proxy's CPU seconds; dedup (True) and
    max_tries (100) as `random` (cells already trained are not sampled again).
    """

    name = "proxy_random"
    defaults = {"proxy": "synflow", "candidates": 10, "dedup": True, "max_tries": 100}
    draws_only_samples = True  # self.rng feeds only the samples: they are drawn BLOCK at a time

    @classmethod
    def asked_proxies(cls, params):
        return (params["proxy"],)

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        if int(self.params["candidates"]) < 1:
            raise NasbenchError("proxy_random needs candidates >= 1")
        self._pending: list = []
        self._round: list = []

    def ask(self) -> Ask:
        if not self._pending and not self._round:
            for _ in range(int(self.params["candidates"])):
                self._pending.append(super().ask().arch)
        if self._pending:
            return ProxyAsk(self._pending.pop(0), proxy=self.params["proxy"])
        best = max(self._round, key=lambda t: t[0])[1]
        self._round = []
        return Ask(best)

    def tell(self, ask, obs) -> None:
        if isinstance(obs, ProxyObservation):
            self._round.append((_value(obs.value), ask.arch))
            return
        super().tell(ask, obs)
