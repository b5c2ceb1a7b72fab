"""Run any Optuna sampler as a strategy, through Optuna's ask/tell interface.

Optional: needs `pip install 'nasbench_lab[optuna]'`. Without Optuna this module raises
ImportError on import and the registry skips it (the strategy is then not listed).
"""
from __future__ import annotations

import _thread
import importlib.util
import pickle
import threading
import warnings

if importlib.util.find_spec("optuna") is None:  # checked cheaply; optuna itself loads lazily
    raise ImportError("the optuna strategy needs Optuna: pip install 'nasbench_lab[optuna]'")

from nasbench_lab import NasbenchError  # noqa: E402
from nasbench_lab.strategies import register  # noqa: E402
from nasbench_lab.strategies._common import is_valid, option_counts, sample_unseen  # noqa: E402
from nasbench_lab.strategies.base import Ask, Observation, Strategy  # noqa: E402

SAMPLERS = ("tpe", "random", "nsga2", "qmc", "bruteforce")
_LOCK_TYPES = (_thread.LockType, type(threading.RLock()))


def make_sampler(name, seed: int, n_startup_trials: int):
    """An Optuna sampler by name, seeded; `name` may also be a callable seed -> sampler."""
    import optuna

    if callable(name):
        return name(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ExperimentalWarning of some samplers
        if name == "tpe":
            return optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup_trials)
        if name == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if name == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=seed)
        if name == "qmc":
            return optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False)
        if name == "bruteforce":
            return optuna.samplers.BruteForceSampler(seed=seed)
    raise NasbenchError(f"optuna: unknown sampler {name!r}; valid: {', '.join(SAMPLERS)} "
                        "(or, from Python, a callable seed -> optuna sampler)")


@register
class OptunaStrategy(Strategy):
    """An Optuna study driven by ask/tell: one categorical parameter per decision.

    Each ask is `study.ask(distributions)`; the trial's parameters become the architecture;
    each tell is `study.tell(trial, valid_acc)` (direction maximize), or a FAILED trial for a
    NaN validation accuracy (Optuna refuses NaN values). In a multi-objective run
    (`--objectives valid_acc,params,...`) the study has one direction per objective (maximize
    accuracy, minimize the costs) and is told the observation's vector, so "nsga2" is Optuna's
    NSGA-II and "tpe" its multi-objective TPE (MOTPE); an infeasible (--max-params) or failed
    observation is a FAILED trial. The sampler is seeded from the
    strategy's generator, so runs are reproducible; Optuna's log level is set to WARNING.

    Deduplication (on by default): when the sampler proposes a cell whose canonical key was
    already queried, the trial is told the cached result at no cost and the sampler asked
    again (up to `max_tries` times); then an unseen cell is drawn uniformly and added to the
    study as a completed trial once observed. So no cell is paid for twice, and when every
    canonical key has been queried `ask` returns None. On a space with invalid cells (NB101)
    or fewer options on some decisions, each decision gets its own number of options and an
    invalid proposal is told as a FAILED trial without a query.

    Parameters:
      sampler ("tpe"): one of tpe, random, nsga2, qmc, bruteforce; from Python also any
        callable seed -> optuna.samplers.BaseSampler.
      n_startup_trials (10): random trials before TPE starts modelling (TPE only).
      dedup (True): skip known canonical keys, as above.
      max_tries (20): sampler proposals per ask before falling back to a uniform unseen cell.
    """

    name = "optuna"
    defaults = {"sampler": "tpe", "n_startup_trials": 10, "dedup": True, "max_tries": 20}
    deduplicates = True

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        import optuna
        from optuna.distributions import CategoricalDistribution

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        seed = int(rng.integers(2 ** 31 - 1))
        sampler = make_sampler(self.params["sampler"], seed, self.params["n_startup_trials"])
        self.n_obj = len(context.objectives)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.study = optuna.create_study(directions=["maximize"] + ["minimize"] * (self.n_obj - 1),
                                             sampler=sampler)
        self.dists = {f"d{i}": CategoricalDistribution(list(range(int(k))))
                      for i, k in enumerate(option_counts(self.space))}
        self.cache: dict = {}   # canonical key -> observed value(s) (NaN: failed)
        self._trial = None      # the Optuna trial behind the last ask (None: a fallback cell)

    # Pickling (kill-and-resume): some samplers hold a thread lock (NSGAIISampler since
    # Optuna 5.1); the study is pickled without the sampler's locks and gets fresh ones back.
    def __getstate__(self):
        state = self.__dict__.copy()
        sampler = self.study.sampler
        locks = {k: v for k, v in vars(sampler).items() if isinstance(v, _LOCK_TYPES)}
        try:
            for k in locks:
                setattr(sampler, k, None)
            state["study"] = pickle.dumps(self.study)
        finally:
            for k, v in locks.items():
                setattr(sampler, k, v)
        state["_sampler_locks"] = {k: isinstance(v, _thread.LockType) for k, v in locks.items()}
        return state

    def __setstate__(self, state):
        state = dict(state)
        locks = state.pop("_sampler_locks", {})
        if isinstance(state.get("study"), bytes):
            state["study"] = pickle.loads(state["study"])
        for k, plain in locks.items():
            setattr(state["study"].sampler, k, threading.Lock() if plain else threading.RLock())
        self.__dict__.update(state)

    def _value(self, obs: Observation):
        """What the study is told: valid_acc, or the objective vector; NaN for a failed one."""
        v = float(obs.valid_acc)
        if self.n_obj == 1 or v != v:
            return v
        vals = tuple(float(x) for x in obs.objectives)
        return vals if all(x == x for x in vals) else float("nan")

    def _tell_value(self, trial, v) -> None:
        from optuna.trial import TrialState

        if isinstance(v, float) and v != v:
            self.study.tell(trial, state=TrialState.FAIL)
        else:
            self.study.tell(trial, list(v) if isinstance(v, tuple) else float(v))

    def ask(self) -> Ask | None:
        dedup = self.params["dedup"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(self.params["max_tries"] if dedup else 1):
                trial = self.study.ask(self.dists)
                arch = self.space.make([trial.params[f"d{i}"] for i in range(self.space.n_decisions)])
                if not is_valid(self.space, arch):  # e.g. NB101: input does not reach output
                    self._tell_value(trial, float("nan"))
                    continue
                key = self.space.canonical_key(arch)
                if not dedup or key not in self.cache:
                    self._trial = trial
                    return Ask(arch)
                self._tell_value(trial, self.cache[key])
        arch = sample_unseen(self.space, self.rng, self.cache)
        self._trial = None
        return None if arch is None else Ask(arch)

    def tell(self, ask: Ask, obs: Observation) -> None:
        import optuna
        from optuna.trial import TrialState

        v = self._value(obs)
        self.cache[self.space.canonical_key(ask.arch)] = v
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self._trial is not None:
                self._tell_value(self._trial, v)
            else:
                params = {f"d{i}": c for i, c in enumerate(ask.arch.choices)}
                if isinstance(v, tuple):
                    t = optuna.trial.create_trial(params=params, distributions=self.dists, values=list(v))
                elif v == v:
                    t = optuna.trial.create_trial(params=params, distributions=self.dists, value=v)
                else:
                    t = optuna.trial.create_trial(params=params, distributions=self.dists,
                                                  state=TrialState.FAIL)
                self.study.add_trial(t)
        self._trial = None


@register
class OptunaNSGA2(OptunaStrategy):
    """Optuna's NSGAIISampler through the adapter (the "optuna" strategy with sampler "nsga2").

    Parameters:
      sampler ("nsga2"), n_startup_trials (10), dedup (True), max_tries (20): as for "optuna".
    """

    name = "optuna-nsga2"
    defaults = {**OptunaStrategy.defaults, "sampler": "nsga2"}
