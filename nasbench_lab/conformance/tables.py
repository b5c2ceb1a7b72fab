"""The synthetic conformance tables: the tiny search space, its table, and the fixtures built once per process."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from typing import Any

import numpy as np

from nasbench_lab.spaces import Arch, SearchSpace, SpaceError, register_space


class TinySpace(SearchSpace):
    """3 binary decisions, 8 cells. Decision 2 only matters when decision 0 is 1, so cells
    (0, b, 0) and (0, b, 1) compute the same function: 6 distinct canonical keys."""

    name = "tiny"
    n_decisions = 3
    n_options = 2

    def to_string(self, arch: Arch) -> str:
        return "tiny:" + "".join(map(str, self.check(arch).choices))

    def from_string(self, text: str) -> Arch:
        if not (isinstance(text, str) and text.startswith("tiny:") and len(text) == 8
                and set(text[5:]) <= {"0", "1"}):
            raise SpaceError(f"malformed tiny arch string {text!r}: expected 'tiny:' and 3 binary digits")
        return self.make([int(c) for c in text[5:]])

    def to_index(self, arch: Arch) -> int:
        return sum(c << i for i, c in enumerate(self.check(arch).choices))

    def from_index(self, index: int) -> Arch:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)) \
                or not 0 <= index < self.size:
            raise SpaceError(f"tiny index must be an integer in 0..{self.size - 1}, got {index!r}")
        return Arch(self.name, tuple((int(index) >> i) & 1 for i in range(3)))

    def canonical_key(self, arch: Arch) -> str:
        a, b, c = self.check(arch).choices
        return f"{a}{b}{c if a == 1 else '-'}"


TINY = register_space(TinySpace())
TINY_EPOCHS = (1, 2, 3, 4)


def make_tiny_table(path) -> str:
    """A table over TinySpace: 2 seeds, epochs 1..4, costs (10 s per epoch per conv-like
    option, 1 s validation pass), no test leakage needed beyond the format."""
    from nasbench_lab.tables import TableWriter

    n, seeds, E = TINY.size, 2, len(TINY_EPOCHS)
    rng = np.random.default_rng(12345)
    ch = np.array([TINY.from_index(i).choices for i in range(n)], dtype=float)
    final = 50 + 10 * ch[:, 0] + 5 * ch[:, 1] + 3 * ch[:, 0] * ch[:, 2]
    ep = np.asarray(TINY_EPOCHS, dtype=float)
    curve = 1 - np.exp(-ep)
    shape = (n, seeds, E)
    valid = 10 + (final[:, None, None] - 10) * curve + rng.normal(0, 0.3, shape)
    test = valid + rng.normal(0, 0.3, shape)
    per_epoch = 10.0 + 5 * ch.sum(1)
    train_time = np.broadcast_to(per_epoch[:, None, None] * ep, shape).copy()
    valid_time = np.ones(shape)
    with TableWriter(path, name="tiny-conformance", space=TINY, dataset="none",
                     provenance={"source": "nasbench_lab.testing tiny fixture"}) as w:
        w.add_schedule("4", epochs=4, recorded_epochs=TINY_EPOCHS, seeds=["0", "1"])
        for m, v in {"valid_acc": valid, "test_acc": test, "train_acc": valid + 2,
                     "valid_loss": (100 - valid) / 40, "test_loss": (100 - test) / 40,
                     "train_loss": (98 - valid) / 40, "train_time": train_time,
                     "valid_time": valid_time, "test_time": valid_time}.items():
            w.write("4", m, v)
        w.set_present("4", np.ones((n, seeds), dtype=bool))
    from nasbench_lab.tables.synthetic import add_synthetic_proxies

    add_synthetic_proxies(path, final, 0.01 + 0.01 * ch.sum(1), 12345)
    return os.fspath(path)


class _Fixtures:
    """Tables and search views for the checks, built lazily once per process."""

    def __init__(self):
        self.dir: str | None = None
        self._paths: dict[str, str] = {}
        self._views: dict[str, Any] = {}
        self._lock = threading.Lock()

    def path(self, which: str) -> str:
        with self._lock:
            if which not in self._paths:
                if self.dir is None:
                    self.dir = tempfile.mkdtemp(prefix="nasbench-conformance-")
                    atexit.register(shutil.rmtree, self.dir, True)
                from nasbench_lab.tables.synthetic import make_synthetic_table

                p = os.path.join(self.dir, f"{which}.h5")
                if which == "nb201":      # 12 recorded epochs: multi-fidelity
                    make_synthetic_table(p, seed=1, n_seeds=2, epochs=12, name="conf-nb201")
                elif which == "nb201_nan":  # single fidelity, 30% failed trainings, missing seeds
                    make_synthetic_table(p, seed=2, n_seeds=2, epochs=12, recorded=[12], nan_fraction=0.3,
                                         missing_fraction=0.2, name="conf-nb201-nan")
                elif which == "nb201_single":
                    make_synthetic_table(p, seed=3, n_seeds=2, epochs=12, recorded=[12], name="conf-nb201-12")
                elif which == "tiny":
                    make_tiny_table(p)
                else:
                    raise KeyError(which)
                self._paths[which] = p
            return self._paths[which]

    def view(self, which: str):
        if which not in self._views:
            from nasbench_lab.runner import SearchView
            from nasbench_lab.tables import Table

            self._views[which] = SearchView(Table(self.path(which)), None, None)
        return self._views[which]


FIXTURES = _Fixtures()
