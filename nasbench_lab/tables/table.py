"""Reading a table: lazy, fast, with one-line errors for bad files.

Opening reads only the attributes. A metric array is read into memory the first time it
is used (one contiguous read), after which a query is a numpy index.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from nasbench_lab.spaces import Arch, SpaceError, get_space
from nasbench_lab.tables import calibration, integrity
from nasbench_lab.tables.calibration import TIME_METRICS
from nasbench_lab.tables.integrity import TableError
from nasbench_lab.tables.schema import (FORMAT, METRICS, READABLE_SCHEMA_VERSIONS, SCHEMA_VERSION,
                                        STATIC_METRICS, is_machine_text)


@dataclass(frozen=True)
class Schedule:
    name: str
    epochs: int
    recorded_epochs: tuple[int, ...]
    seeds: tuple[str, ...]
    metrics: tuple[str, ...]
    protocol: dict

    def epoch_index(self, epoch: int | None) -> int:
        if epoch is None:
            return len(self.recorded_epochs) - 1
        if isinstance(epoch, (bool, np.bool_)) or not isinstance(epoch, (int, np.integer)):
            raise TableError(f"epoch must be an integer (or None for the last), got {type(epoch).__name__} "
                             f"{epoch!r}; schedule {self.name!r} records {_short_list(self.recorded_epochs)}")
        try:
            return self.recorded_epochs.index(int(epoch))
        except ValueError:
            shown = _short_list(self.recorded_epochs)
            raise TableError(f"epoch {epoch} is not recorded in schedule {self.name!r} "
                             f"(recorded: {shown})") from None


def _short_list(xs) -> str:
    xs = list(xs)
    return ", ".join(map(str, xs)) if len(xs) <= 6 else f"{xs[0]}, {xs[1]}, ..., {xs[-1]}"


@dataclass(frozen=True)
class QueryResult:
    """Everything the table knows about one (arch, schedule, seed, epoch): test included.

    Only the runner and analysis code see this; strategies get an Observation.
    """

    arch: Arch
    index: int
    schedule: str
    seed: str
    epoch: int
    train_acc: float
    train_loss: float
    valid_acc: float
    valid_loss: float
    test_acc: float
    test_loss: float
    train_time: float   # cumulative training seconds up to `epoch`
    valid_time: float   # one validation pass

    @property
    def cost(self) -> float:
        """Training time to this epoch plus one validation pass (design.md section 3)."""
        return self.train_time + self.valid_time


class Table:
    """A benchmark table opened from an HDF5 file."""

    def __init__(self, path: str | os.PathLike):
        import h5py

        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise TableError(f"table file not found: {self.path} "
                             "(`nasbench-lab tables` lists the built-in tables)")
        if os.path.isdir(self.path):
            raise TableError(f"{self.path} is a directory, not a table file; give the path of a .h5 table "
                             "(`nasbench-lab tables` lists the built-in tables)")
        try:
            self._h5 = h5py.File(self.path, "r")
        except OSError as e:
            raise TableError(f"{self.path} is not a readable HDF5 table ({str(e).splitlines()[0]}): "
                             "the file is truncated or corrupt; re-import or rebuild it") from None
        try:
            self._read_header(dict(self._h5.attrs))
        except TableError:
            self._h5.close()
            raise
        except (KeyError, ValueError, TypeError, AttributeError, IndexError, RuntimeError, SpaceError,
                OSError) as e:
            self._h5.close()
            raise TableError(f"{self.path}: damaged table header ({type(e).__name__}: "
                             f"{str(e).splitlines()[0] if str(e) else ''}); re-import or rebuild it") from None
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    def _read_header(self, attrs: dict) -> None:
        """Attributes, shapes and dtypes, all checked here, so nothing downstream meets a bad
        array; nothing is read (integrity.py checks the values and checksums on first read)."""
        if attrs.get("format") != FORMAT:
            raise TableError(f"{self.path} is an HDF5 file but not a nasbench_lab table "
                             "(no format attribute); import it with `nasbench-lab import`")
        version = integrity.as_int(attrs.get("schema_version", -1), "schema_version", self.path)
        if version not in READABLE_SCHEMA_VERSIONS:
            raise TableError(f"{self.path} has table schema version {version}, this nasbench_lab reads "
                             f"versions {', '.join(map(str, READABLE_SCHEMA_VERSIONS))} (now {SCHEMA_VERSION}); re-import or "
                             "rebuild it with this version")
        text = integrity.text_attr
        self.name = text(attrs, "name", self.path)
        self.space = get_space(text(attrs, "space", self.path))
        self.dataset = text(attrs, "dataset", self.path, "")
        self.n_archs = integrity.as_int(attrs["n_archs"], "n_archs", self.path)
        if hasattr(self.space, "for_table"):  # a space whose index lives in the file (NB101)
            self.space = self.space.for_table(self._h5, self.n_archs)
            size = int(self._h5["nb101"]["hashes"].shape[0])
        else:
            size = self.space.size
        if self.n_archs != size:
            raise TableError(f"{self.path}: n_archs is {self.n_archs} but space {self.space.name} has "
                                 f"{size} architectures; re-import or rebuild it")
        self.provenance = integrity.json_attr(attrs, "provenance", dict, self.path, "{}")
        self.content_hash = text(attrs, "content_hash", self.path, "")
        if not self.content_hash:
            raise TableError(f"{self.path}: the table has no content hash (it was never sealed); "
                                 "re-import or rebuild it")
        self.software_version = text(attrs, "software_version", self.path, "")
        self.created = text(attrs, "created", self.path, "")
        # sealed per array: the checksums must add up to the content hash (else verified in full)
        self._digests = (integrity.stored_digests(self._h5, self.path, self.content_hash)
                         if attrs.get("hash_scheme") == integrity.HASH_SCHEME else None)
        self._verified = False  # old tables: the whole-file hash, checked on the first read
        self.schedules: dict[str, Schedule] = {}
        for sname, grp in self._h5["schedules"].items():
            epochs = integrity.as_int(grp.attrs["epochs"], f"schedule {sname!r} epochs", self.path)
            rec = np.asarray(grp.attrs["recorded_epochs"])
            if rec.ndim != 1 or rec.size == 0 or rec.dtype.kind not in "iu" or np.any(np.diff(rec) <= 0) \
                    or rec[0] < 1 or rec[-1] > epochs:
                raise TableError(f"{self.path}: schedule {sname!r} has bad recorded_epochs {rec.tolist()} "
                                     f"(increasing integers within 1..{epochs} expected); re-import or "
                                     "rebuild it")
            seeds = integrity.json_attr(grp.attrs, "seeds", list, self.path, "[]")
            rec = tuple(int(e) for e in rec)
            metrics = integrity.check_schedule_layout(grp, sname, self.n_archs, seeds, rec, self.path)
            self.schedules[sname] = Schedule(
                name=sname, epochs=epochs, recorded_epochs=rec, seeds=tuple(seeds), metrics=metrics,
                protocol=integrity.json_attr(grp.attrs, "protocol", dict, self.path, "{}"))
        if not self.schedules:
            raise TableError(f"{self.path}: the table has no schedules; re-import or rebuild it")
        integrity.check_static_layout(self._h5, self.n_archs, self.path)
        from nasbench_lab.tables import proxy_store

        self.proxies_info = proxy_store.check_layout(self._h5, self.n_archs, self.path)

    # --- plumbing ------------------------------------------------------------------------
    def close(self) -> None:
        self._h5.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"Table({self.name!r}, space={self.space.name}, schedules={list(self.schedules)})"

    def __getstate__(self):  # tables travel to worker processes as their path
        return {"path": self.path}

    def __setstate__(self, state):
        self.__init__(state["path"])

    @property
    def default_schedule(self) -> str:
        return next(iter(sorted(self.schedules, key=lambda s: self.schedules[s].epochs)))

    def schedule(self, name: str | int | None) -> Schedule:
        if name is None:
            name = self.default_schedule
        try:
            return self.schedules[str(name)]
        except KeyError:
            raise TableError(f"table {self.name!r} has no schedule {name!r}; "
                             f"valid: {', '.join(self.schedules)}") from None

    def array(self, schedule: str, metric: str, measured: bool = False) -> np.ndarray:
        """The full [arch, seed, recorded epoch] array of one metric (read once, then cached).
        Times of a table trained on several machines come on the reference machine's scale
        (`time_scale`, tables/calibration.py); `measured=True` gives them as measured."""
        if metric in TIME_METRICS and not measured:
            key = (schedule, metric, "calibrated")
            if key not in self._cache:
                scale = self.time_scale(schedule)
                a = self.array(schedule, metric, measured=True)
                self._cache[key] = a if scale is None else (a * scale[:, :, None]).astype(a.dtype)
            return self._cache[key]
        key = (schedule, metric)
        if key not in self._cache:
            sch = self.schedule(schedule)
            if metric not in sch.metrics and metric != "present":
                raise TableError(f"schedule {schedule!r} of table {self.name!r} has no metric "
                                 f"{metric!r}; it has: {', '.join(sch.metrics)}")
            a = self._read(f"schedules/{schedule}/{metric}")
            if metric != "present":
                integrity.check_values(self.path, schedule, metric, a)
            self._cache[key] = a
        return self._cache[key]

    def _read(self, name: str) -> np.ndarray:
        """Read one dataset, verified: against its checksum (tables sealed per array) or, for an
        older table, the whole-file content hash (checked once; every array read then is kept)."""
        if self._digests is None:
            if not self._verified:
                self._verify_whole()
            if name in self._whole:
                return self._whole.pop(name)
        try:
            a = self._h5[name][()]
        except (OSError, KeyError, RuntimeError) as e:
            raise TableError(f"{self.path}: cannot read {name} ({str(e).splitlines()[0] if str(e) else e!r}); "
                             "the file is truncated or corrupt; re-import or rebuild it") from None
        if self._digests is not None and integrity.array_digest(name, a) != self._digests.get(name):
            raise TableError(f"{self.path}: {name} does not match its checksum: the table was changed "
                             "after it was sealed; re-import or rebuild it")
        return a

    def _verify_whole(self) -> None:
        from nasbench_lab.tables.writer import content_hash

        self._whole: dict[str, np.ndarray] = {}

        def read(name, ds):
            try:
                a = ds[()]
            except (OSError, RuntimeError) as e:
                raise TableError(f"{self.path}: cannot read {name} ({str(e).splitlines()[0]}); the file "
                                 "is truncated or corrupt; re-import or rebuild it") from None
            if not name.startswith("nb101/"):  # the space index is read by the space itself
                self._whole[name if name.startswith("static/") else f"schedules/{name}"] = a
            return a
        actual = content_hash(self._h5, read=read)
        if actual != self.content_hash:
            self._whole = {}
            raise TableError(f"{self.path}: the data does not match the table's content hash (file says "
                             f"{self.content_hash[:12]}, data gives {actual[:12]}): the table was changed "
                             "after it was sealed; re-import or rebuild it")
        self._verified = True

    def present(self, schedule: str) -> np.ndarray:
        return self.array(schedule, "present")

    def static(self, metric: str) -> np.ndarray:
        key = ("", metric)
        if key not in self._cache:
            if metric not in STATIC_METRICS or metric not in self._h5.get("static", {}):
                raise TableError(f"table {self.name!r} has no static metric {metric!r}")
            self._cache[key] = self._read(f"static/{metric}")
        return self._cache[key]

    def built_on(self, schedule: str | int | None = None) -> tuple[np.ndarray, list[str]]:
        """Which machine trained each entry of a built table: codes [n_archs, n_seeds] (int16,
        -1: not trained or not recorded) into a list of machine descriptions (CPU model, BLAS
        kernel, numpy). A table without that record (an import, an older build): all -1."""
        sch = self.schedule(schedule)
        grp = self._h5["schedules"][sch.name]
        if "built_on" not in grp:
            return np.full((self.n_archs, len(sch.seeds)), -1, dtype=np.int16), []
        key = (sch.name, "built_on")
        if key not in self._cache:
            import h5py

            if "machines" not in grp.attrs:
                raise TableError(f"{self.path}: {sch.name}/built_on has no attribute machines (the list its "
                                 "codes index); re-import or rebuild it")
            machines = integrity.json_attr(grp.attrs, "machines", list, self.path, "[]")
            ds = grp["built_on"]
            if not isinstance(ds, h5py.Dataset) or ds.shape != (self.n_archs, len(sch.seeds)) \
                    or ds.dtype.kind not in "iu" or not all(is_machine_text(m) for m in machines):
                got = f"{ds.dtype} {ds.shape}" if isinstance(ds, h5py.Dataset) else "a group"
                shown = repr(machines) if len(repr(machines)) <= 300 else repr(machines)[:300] + "..."
                raise TableError(f"{self.path}: {sch.name}/built_on is {got} with machines "
                                 f"{shown}; expected integer codes of shape "
                                 f"({self.n_archs}, {len(sch.seeds)}) and a list of one-line texts; re-import or "
                                 "rebuild it")
            codes = self._read(f"schedules/{sch.name}/built_on").astype(np.int64)  # range checked before int16
            if codes.size and (codes.min() < -1 or codes.max() >= len(machines)):
                raise TableError(f"{self.path}: {sch.name}/built_on holds codes outside -1..{len(machines) - 1}; "
                                 "re-import or rebuild it")
            stray = int(((codes >= 0) & ~self.present(sch.name)).sum())
            if stray:
                raise TableError(f"{self.path}: {sch.name}/built_on names a machine for {stray} entries that were "
                                 "never trained (present is False); re-import or rebuild it")
            self._cache[key] = (codes.astype(np.int16), machines)
        codes, machines = self._cache[key]
        return codes, list(machines)

    def time_scale(self, schedule: str | int | None = None) -> np.ndarray | None:
        """Per-entry factors [arch, seed] applied to the times on read, or None (one machine);
        verified against their checksum and their account (`calibration.check_scale`)."""
        sch = self.schedule(schedule)
        key = (sch.name, "time_scale")
        if key not in self._cache:
            cal = self.time_calibration(sch.name)  # checks that factors and account come together
            scale = None
            if cal is not None:
                where = f"{self.path}: {sch.name}/time_scale"
                calibration.check_layout(where, self._h5["schedules"][sch.name]["time_scale"],
                                         (self.n_archs, len(sch.seeds)))
                scale = self._read(f"schedules/{sch.name}/time_scale")
                codes, machines = self.built_on(sch.name)
                calibration.check_scale(where, scale, self.present(sch.name), codes, machines, cal)
            self._cache[key] = scale
        return self._cache[key]

    def time_calibration(self, schedule: str | int | None = None) -> dict | None:
        """How the times were put on one machine's scale (the fit), or None. One-line errors for
        factors without their account or the reverse, or an account that is not one of a fit."""
        sch = self.schedule(schedule)
        grp = self._h5["schedules"][sch.name]
        where = f"{self.path}: {sch.name}/time_scale"
        if "time_scale" not in grp and "time_calibration" not in grp.attrs:
            return None
        if "time_scale" in grp and self._digests is None:  # the whole-file hash of older tables does not cover it
            raise TableError(f"{where} is in a table not sealed per array (only builds of this version write "
                             "factors, and seal them): it was added afterwards; re-import or rebuild it")
        calibration.check_pairing(where, "time_scale" in grp, "time_calibration" in grp.attrs)
        cal = integrity.json_attr(grp.attrs, "time_calibration", dict, self.path, "{}")
        calibration.check_account(f"{self.path}: attr time_calibration of schedule {sch.name!r}", cal,
                                  self.built_on(sch.name)[1])
        return cal

    def proxies(self):
        """The table's zero-cost proxies (`proxy_store.ProxyScores`, verified), or None."""
        if self.proxies_info is None:
            return None
        if ("", "proxies") not in self._cache:
            from nasbench_lab.tables import proxy_store

            self._cache[("", "proxies")] = proxy_store.read(self._h5, self.proxies_info, self.path)
        return self._cache[("", "proxies")]

    # --- indices -------------------------------------------------------------------------
    def index_of(self, arch: Arch | str | int) -> int:
        if isinstance(arch, Arch):
            return self.space.to_index(arch)
        if isinstance(arch, str):
            return self.space.to_index(self.space.from_string(arch))
        return self.space.to_index(self.space.from_index(arch))

    def seed_index(self, sch: Schedule, idx: int, seed, rng: np.random.Generator | None) -> int | None:
        """Resolve a seed argument to a column (None means the mean over present seeds)."""
        present = self.present(sch.name)[idx]
        if seed is None:
            cols = np.flatnonzero(present)
            if cols.size == 0:
                raise TableError(f"table {self.name!r}: architecture {idx} has no trained seed in "
                                 f"schedule {sch.name!r}")
            if cols.size == 1:
                return int(cols[0])
            if rng is None:
                raise TableError("seed=None draws a seed: pass rng=numpy.random.Generator, "
                                 "or seed='mean' or a seed label")
            return int(cols[rng.integers(cols.size)])
        if isinstance(seed, str) and seed == "mean":
            return None
        label = str(seed)
        if label not in sch.seeds:
            raise TableError(f"schedule {sch.name!r} has no seed {seed!r}; seeds: {', '.join(sch.seeds)}")
        col = sch.seeds.index(label)
        if not present[col]:
            raise TableError(f"table {self.name!r}: seed {label} of architecture {idx} is missing "
                             f"in schedule {sch.name!r}")
        return col

    def value(self, schedule: str, metric: str, idx: int, col: int | None, epoch_i: int) -> float:
        if metric not in self.schedules[schedule].metrics:
            return float("nan")
        a = self.array(schedule, metric)
        if col is None:
            mask = self.present(schedule)[idx]
            vals = a[idx, mask, epoch_i]
            if vals.size == 0:
                return float("nan")
            v = float(vals.mean())
        else:
            v = float(a[idx, col, epoch_i])
        return v

    # --- the query -------------------------------------------------------------------------
    def query(self, arch: Arch | str | int, epoch: int | None = None,
              schedule: str | int | None = None, seed=None,
              rng: np.random.Generator | None = None) -> QueryResult:
        """Look up one architecture. seed: None = drawn from `rng`; a label = that seed;
        'mean' = average over the present seeds. epoch None = last epoch of the schedule."""
        sch = self.schedule(schedule)
        idx = self.index_of(arch)
        ei = sch.epoch_index(epoch)
        col = self.seed_index(sch, idx, seed, rng)
        vals = {m: self.value(sch.name, m, idx, col, ei) for m in METRICS}
        if vals["valid_acc"] != vals["valid_acc"] and vals["train_time"] != vals["train_time"]:
            where = f"arch {idx}, seed {'mean' if col is None else sch.seeds[col]}, epoch {sch.recorded_epochs[ei]}"
            raise TableError(f"table {self.name!r} has a NaN hole in valid_acc at {where} of schedule "
                             f"{sch.name!r}; the file is damaged: re-import or rebuild it")
        return QueryResult(
            arch=self.space.from_index(idx), index=idx, schedule=sch.name,
            seed="mean" if col is None else sch.seeds[col], epoch=sch.recorded_epochs[ei],
            **{m: vals[m] for m in METRICS if m != "test_time"})

    def lookup(self, metric: str, indices, schedule: str | int | None = None,
               epoch: int | None = None, seed="mean") -> np.ndarray:
        """Vectorised lookup of one metric for many architecture indices."""
        sch = self.schedule(schedule)
        ei = sch.epoch_index(epoch)
        idx = np.asarray(indices, dtype=np.int64)
        a = self.array(sch.name, metric)
        if seed == "mean":
            mask = self.present(sch.name)[idx]
            vals = np.where(mask, a[idx, :, ei], 0.0).sum(1)
            with np.errstate(invalid="ignore", divide="ignore"):
                return vals / mask.sum(1)
        col = sch.seeds.index(str(seed)) if str(seed) in sch.seeds else None
        if col is None:
            raise TableError(f"schedule {sch.name!r} has no seed {seed!r}; seeds: {', '.join(sch.seeds)}")
        return a[idx, col, ei]

    def has_costs(self, schedule: str | None = None) -> bool:
        sch = self.schedule(schedule)
        return "train_time" in sch.metrics and "valid_time" in sch.metrics

    # --- integrity ---------------------------------------------------------------------------
    def holes(self, schedule: str) -> np.ndarray:
        """[arch, seed, epoch] mask of entries marked present whose validation accuracy is NaN
        without a recorded training time: data lost, not a diverged training (which keeps its
        time and has NaN accuracy legitimately)."""
        sch = self.schedule(schedule)
        # a table of a dataset without a validation split (NATS-Bench's cifar10) keys on test_acc
        key = "valid_acc" if "valid_acc" in sch.metrics or "test_acc" not in sch.metrics else "test_acc"
        va = self.array(sch.name, key)
        lost = np.isnan(va)
        if "train_time" in sch.metrics:
            lost &= np.isnan(self.array(sch.name, "train_time"))
        return lost & self.present(sch.name)[:, :, None]

    def check_holes(self, schedule: str) -> None:
        """Raise a one-line TableError at the first NaN hole of a schedule."""
        sch = self.schedule(schedule)
        h = self.holes(sch.name)
        if h.any():
            i, s, e = np.argwhere(h)[0]
            raise TableError(f"table {self.name!r} has {int(h.sum())} NaN holes in schedule {sch.name!r}, "
                             f"first at arch {i}, seed {sch.seeds[s]}, epoch {sch.recorded_epochs[e]}: "
                             "the file is damaged; re-import or rebuild it")

    def check(self) -> list[str]:
        """Full scan: every array read and verified (checksum, value ranges), NaN holes where a
        seed is marked present, the content hash recomputed from the data (shapes and dtypes
        were checked at open). Returns a list of one-line problems (empty when sound)."""
        problems = []
        for sch in self.schedules.values():
            sound = True
            for m in ("present", *sch.metrics):
                try:
                    self.array(sch.name, m)
                except TableError as e:
                    problems.append(str(e))
                    sound = False
            if sound:
                try:
                    self.check_holes(sch.name)
                except TableError as e:
                    problems.append(str(e))
            try:
                self.built_on(sch.name)  # which machine trained each entry (built tables)
                self.time_scale(sch.name)  # and the factors that put its times on one scale, with their fit
            except TableError as e:
                problems.append(str(e))
        try:
            self.proxies()
        except TableError as e:
            problems.append(str(e))
        from nasbench_lab.tables.writer import content_hash

        try:
            actual = content_hash(self._h5)
        except (OSError, RuntimeError) as e:
            problems.append(f"cannot read every array ({str(e).splitlines()[0]})")
        else:
            if actual != self.content_hash:
                problems.append(f"content hash mismatch: file says {self.content_hash[:12]}, "
                                f"data gives {actual[:12]}")
        return list(dict.fromkeys(problems))  # one damaged array read for several metrics: once

    def describe(self) -> dict:
        """Summary used by `nasbench-lab info`."""
        out = {
            "name": self.name, "path": self.path, "space": self.space.name, "dataset": self.dataset,
            "n_archs": self.n_archs, "content_hash": self.content_hash,
            "software_version": self.software_version, "created": self.created,
            "provenance": self.provenance,
            "static": [m for m in STATIC_METRICS if m in self._h5.get("static", {})],
            "proxies": list(self.proxies_info.names) if self.proxies_info else [],
            "schedules": {},
        }
        for sch in self.schedules.values():
            present = self.present(sch.name)
            try:
                cal, cal_problem = self.time_calibration(sch.name), None
            except TableError as e:  # `info` says so; `info --check` lists it among the problems
                cal, cal_problem = None, str(e)
            va = self.lookup("valid_acc", np.arange(self.n_archs), sch.name) \
                if "valid_acc" in sch.metrics else np.full(self.n_archs, np.nan)
            out["schedules"][sch.name] = {
                "epochs": sch.epochs, "recorded_epochs": _short_list(sch.recorded_epochs),
                "seeds": list(sch.seeds), "metrics": list(sch.metrics),
                "trained_entries": int(present.sum()), "missing_entries": int((~present).sum()),
                "best_valid_acc_mean": float(np.nanmax(va)) if np.isfinite(va).any() else None,
                "has_costs": self.has_costs(sch.name), "protocol": sch.protocol,
                "time_calibration": cal,
            }
            if cal_problem:
                out["schedules"][sch.name]["time_calibration_problem"] = cal_problem
        return out


def open_table(name_or_path: str | os.PathLike) -> Table:
    """Open a built-in table by name, or any table file by path."""
    from nasbench_lab.tables.registry import resolve_table

    return Table(resolve_table(name_or_path))
