"""Build a table by training every distinct cell with the live backend.

Crash safety: each finished training is written at once to its own small file in a journal
folder next to the table (`OUT.parts/`), by an atomic rename, so a build killed at any
moment (SIGKILL included) loses only the trainings in flight. Rerunning the same command
skips every training already in the journal and then assembles the table from the journal
(the table file itself is replaced atomically). Entries of an existing table at OUT are
moved into the journal first, so a committed partial table resumes too.

Order: by default (`group_seeds=True`) the build is cell-major: the missing seeds of one
cell are trained together in one vectorised job (`trainer.train_seeds`, bit for bit the
single-seed results, each seed charged its share of the pass's time), cells in a fixed
pseudo-random order, so a partial table holds a uniform sample of the cells with all their
seeds. The journal stays one
entry per (cell, seed), written as soon as a job ends, so resumption and kill safety are
unchanged (a killed job loses its seeds in flight). With `group_seeds=False` the build is
seed-major (all distinct cells with the first seed, then the next seed: a partial table
covers the whole space with one seed), one single-seed training per job.
"""
from __future__ import annotations

import functools
import json
import os
import platform
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nasbench_lab import NasbenchError, __version__
from nasbench_lab.outpaths import LOCK_NAME, exclusive, prepare_out_file
from nasbench_lab.parallel import parallel_map
from nasbench_lab.spaces import SearchSpace, get_space
from nasbench_lab.tables.calibration import fit_time_scale
from nasbench_lab.tables.schema import MAX_MACHINE_TEXT, METRICS, NOT_RECORDED, is_machine_text
from nasbench_lab.tables.writer import TableWriter

PART_METRICS = METRICS  # per-epoch curves stored in each journal entry
PART_STATIC = ("params", "flops", "latency_ms")


@functools.lru_cache(maxsize=1)
def machine_description() -> str:
    """The CPU model, BLAS kernel and numpy that trained an entry. The live trainer is bit for
    bit reproducible where all three match, and only within seed noise across CPUs (BLAS
    picks other kernels), so each entry of a built table records it (`built_on`)."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), model)
    except OSError:
        pass
    blas = "BLAS unknown"
    try:
        from threadpoolctl import threadpool_info

        info = _numpy_blas([i for i in threadpool_info() if i.get("user_api") == "blas"])
        if info:
            blas = " ".join(str(info[k]) for k in ("internal_api", "version", "architecture") if info.get(k))
    except Exception:  # noqa: BLE001 - a description, never a reason to fail a training
        pass
    return f"{model} ({platform.machine()}); {blas}; numpy {np.__version__}"


def _numpy_blas(libs: list[dict]) -> dict | None:
    """The BLAS numpy itself calls, of those loaded: a pip numpy bundles its own (numpy.libs/),
    and scipy, once imported (mnist1d's generator does), loads another that threadpoolctl may
    list first, so taking the first named the same machine two ways."""
    home = os.path.dirname(os.path.realpath(np.__file__))
    mine = [i for i in libs
            if os.path.realpath(str(i.get("filepath", ""))).startswith((home + os.sep, home + ".libs" + os.sep))]
    return min(mine or libs, key=lambda i: str(i.get("filepath", "")), default=None)


@dataclass(frozen=True)
class BuildPlan:
    space: SearchSpace
    keys: list[str]                 # distinct canonical keys, in build order
    representative: dict            # key -> index of the arch trained for it
    members: dict                   # key -> all indices with that key
    seeds: list[int]

    @property
    def jobs(self) -> list[tuple[str, int]]:
        return [(k, s) for s in self.seeds for k in self.keys]


def make_plan(space: SearchSpace, seeds, limit: int | None = None) -> BuildPlan:
    members: dict[str, list[int]] = {}
    for i in range(space.size):
        members.setdefault(space.canonical_key(space.from_index(i)), []).append(i)
    keys = sorted(members, key=lambda k: members[k][0])
    check_seeds_and_limit(seeds, limit)
    if limit is not None:
        rng = np.random.default_rng(12345)  # a fixed, spread-out subset of cells
        keys = [keys[i] for i in sorted(rng.choice(len(keys), min(limit, len(keys)), replace=False))]
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise NasbenchError(f"--seeds must be distinct integers, got {seeds}")
    return BuildPlan(space, keys, {k: members[k][0] for k in keys}, {k: members[k] for k in keys}, seeds)


MAX_SEED = 2**32 - 1


def check_seeds_and_limit(seeds, limit=None, max_jobs=None) -> None:
    """One-line errors for what a build cannot do: no seeds, negative or repeated seeds, an
    empty or negative --limit (an empty table marked complete), a negative --max-jobs."""
    seeds = list(seeds)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or not 0 <= s <= MAX_SEED
                        for s in seeds) or len(set(seeds)) != len(seeds):
        raise NasbenchError(f"--seeds must be distinct integers in 0..{MAX_SEED}, got {seeds}")
    if limit is not None and (isinstance(limit, bool) or int(limit) != limit or limit < 1):
        raise NasbenchError(f"--limit must be a positive number of cells, got {limit}")
    if max_jobs is not None and (int(max_jobs) != max_jobs or max_jobs < 0):
        raise NasbenchError(f"--max-jobs must be 0 or more, got {max_jobs}")


def _part_name(key: str, seed: int) -> str:
    import hashlib

    return f"{hashlib.sha1(key.encode()).hexdigest()[:16]}-s{seed}.npz"


def _write_part(parts: Path, key: str, seed: int, result: dict) -> None:
    path = parts / _part_name(key, seed)
    tmp = parts / f".{path.name}.{os.getpid()}.tmp"
    arrays = {m: np.asarray(result[m], dtype=np.float64) for m in PART_METRICS}
    arrays.update({m: np.float64(result[m]) for m in PART_STATIC})
    if result.get("machine"):
        arrays["machine"] = np.array(str(result["machine"]))
    with open(tmp, "wb") as f:
        np.savez(f, key=np.array(key), seed=np.int64(seed), **arrays)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _read_part(path: Path) -> dict:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def train_job(key: str, seed: int, arch_index: int, space_name: str, protocol_dict: dict) -> dict:
    """Train one cell (in a worker process); returns per-epoch curves and static metrics."""
    from nasbench_lab.live.protocol import Protocol
    from nasbench_lab.live.trainer import train_architecture

    space = get_space(space_name)
    arch = space.from_index(arch_index)
    r = train_architecture(space.to_nb201(arch) if hasattr(space, "to_nb201") else arch,
                           Protocol.from_dict(protocol_dict), seed=seed)
    out = {m: np.asarray(getattr(r, m), dtype=np.float64) for m in PART_METRICS}
    out["train_time"] = np.cumsum(out["train_time"])  # the table stores cumulative training time
    out.update(params=float(r.params), flops=float(r.flops), latency_ms=float(r.latency_ms))
    return {"key": key, "seed": seed, "machine": machine_description(), **out}


def train_group(key: str, seeds: list, arch_index: int, space_name: str,
                protocol_dict: dict) -> list[dict]:
    """Train several seeds of one cell in one vectorised pass (in a worker process); one
    `train_job`-like dict per seed."""
    from nasbench_lab.live.protocol import Protocol
    from nasbench_lab.live.trainer import train_seeds

    space = get_space(space_name)
    arch = space.from_index(arch_index)
    rs = train_seeds(space.to_nb201(arch) if hasattr(space, "to_nb201") else arch,
                     Protocol.from_dict(protocol_dict), seeds=seeds)
    out = []
    for r in rs:
        d = {m: np.asarray(getattr(r, m), dtype=np.float64) for m in PART_METRICS}
        d["train_time"] = np.cumsum(d["train_time"])  # cumulative, as train_job
        d.update(params=float(r.params), flops=float(r.flops), latency_ms=float(r.latency_ms))
        out.append({"key": key, "seed": int(r.seed), "machine": machine_description(), **d})
    return out


def _train_calls(todo: list, plan: BuildPlan, space_name: str, pdict: dict, group: bool):
    """(function, calls) for the missing (key, seed) pairs: one call per training, or one
    per cell with all its missing seeds (cells in `_shuffled_order`)."""
    if not group:
        return train_job, [(k, s, plan.representative[k], space_name, pdict) for k, s in todo]
    missing: dict[str, list[int]] = {}
    for k, s in todo:
        missing.setdefault(k, []).append(s)
    return train_group, [(k, sorted(missing[k], key=plan.seeds.index), plan.representative[k],
                          space_name, pdict) for k in sorted(missing, key=_shuffled_order)]


def _shuffled_order(key: str) -> str:
    """Cells train in a fixed pseudo-random order (by a hash of the key), so that the cells of
    a partial table are a uniform sample of the space, not its first official indices."""
    import hashlib

    return hashlib.sha1(b"order:" + key.encode()).hexdigest()


def _check_existing_table(t, out: Path, plan: BuildPlan, protocol):
    """The schedule of an existing table at `out` that this build may take in: same space, one
    schedule of this protocol, and no entry this build would drop (another seed, a cell
    outside --limit). Anything else is refused: nothing already trained is lost or mixed in."""
    sch = t.schedule(None)
    foreign = (t.space.name != plan.space.name or len(t.schedules) != 1
               or sch.protocol != protocol.to_dict() or sch.epochs != int(protocol.epochs)
               or len(sch.recorded_epochs) != int(protocol.epochs))
    if foreign:
        raise NasbenchError(f"{out} is a table of another build (space {t.space.name}, schedules "
                            f"{', '.join(t.schedules)}, protocol {sch.protocol.get('name', '?')}); this build "
                            f"would replace it: use another --out, or move that table away")
    present = t.present(sch.name)
    wanted = np.zeros(present.shape, dtype=bool)  # every index of every planned cell, planned seeds
    cols = [sch.seeds.index(str(s)) for s in plan.seeds if str(s) in sch.seeds]
    idx = np.fromiter((i for k in plan.keys for i in plan.members[k]), dtype=np.int64)
    if cols and idx.size:
        wanted[np.ix_(idx, cols)] = True
    dropped = present & ~wanted
    if dropped.any():
        seeds = sorted({sch.seeds[c] for c in np.flatnonzero(dropped.any(0))}, key=str)
        raise NasbenchError(f"{out} holds {int(dropped.sum())} trainings (of seeds {', '.join(seeds)}) that this "
                            f"build would drop (other seeds, or cells outside its --limit); rerun with --seeds "
                            f"covering {','.join(sch.seeds)} and the --limit it was built with (cells of two limits are "
                            f"different samples; no --limit covers every cell), or use another --out")
    return sch


def _check_journal(parts: Path, meta_path: Path, meta: dict, plan: BuildPlan) -> None:
    """The journal's build.json against this build: same protocol and space, and seeds and
    cells that cover every entry it holds (a superset extends the build; anything that would
    drop journalled trainings is refused). A journal without build.json, or a damaged one, is
    refused: nothing would say which protocol its entries were trained with."""
    if not any(parts.glob("*.npz")):  # no entry to drop (a build refused or killed before its first one)
        meta_path.write_text(json.dumps(meta, sort_keys=True))
        return
    if not meta_path.exists():
        raise NasbenchError(f"{parts} holds journal entries but no build.json, so nothing says which "
                            "protocol trained them; use another --out or delete that folder")
    try:
        old = json.loads(meta_path.read_text())
        if not isinstance(old, dict):
            raise ValueError("not a JSON object")
        old_seeds = [int(x) for x in old.get("seeds", [])]
        old_limit = old.get("limit")
        old_limit = None if old_limit is None else int(old_limit)
    except (OSError, ValueError, TypeError) as e:
        raise NasbenchError(f"{meta_path} is damaged ({e}); use another --out or delete {parts}") from None
    if old.get("protocol") != meta["protocol"] or old.get("space") != meta["space"]:
        raise NasbenchError(f"{parts} belongs to a build with another protocol or space; use another --out "
                            "or delete that folder")
    if old_seeds == meta["seeds"] and old_limit == meta["limit"]:
        return
    try:
        old_keys = set(make_plan(plan.space, old_seeds, old_limit).keys) if old_limit != meta["limit"] \
            else set(plan.keys)
    except NasbenchError as e:
        raise NasbenchError(f"{meta_path} is damaged ({e}); use another --out or delete {parts}") from None
    if not set(old_seeds) <= set(plan.seeds) or not old_keys <= set(plan.keys):
        limit = "" if old_limit is None else f" --limit {old_limit}"
        raise NasbenchError(f"{parts} holds a build of --seeds {','.join(map(str, old_seeds))}{limit}; this build "
                            f"(--seeds {','.join(map(str, plan.seeds))}"
                            f"{'' if meta['limit'] is None else ' --limit ' + str(meta['limit'])}) would drop "
                            "some of its trainings: rerun with seeds and cells covering them, or use another --out")
    meta_path.write_text(json.dumps(meta, sort_keys=True))  # a superset: the build grows


def _explode_existing(out: Path, parts: Path, plan: BuildPlan, protocol) -> int:
    """Move the entries of an existing (partial) table at `out` into the journal."""
    from nasbench_lab.tables.table import Table, TableError

    if not out.exists():
        return 0
    try:
        t = Table(out)
    except TableError as e:
        raise NasbenchError(f"{out} exists but cannot be read ({e}); move it away to rebuild") from None
    with t:
        sch = _check_existing_table(t, out, plan, protocol)
        present = t.present(sch.name)
        # the journal holds times as measured (assemble calibrates them again, from all entries)
        arrays = {m: t.array(sch.name, m, measured=True) for m in PART_METRICS if m in sch.metrics}
        static = {m: t.static(m) for m in PART_STATIC if m in t._h5.get("static", {})}
        codes, machines = t.built_on(sch.name)
        n = 0
        for k in plan.keys:
            i = plan.representative[k]
            for s in plan.seeds:
                if str(s) not in sch.seeds:
                    continue
                col = sch.seeds.index(str(s))
                if not present[i, col] or (parts / _part_name(k, s)).exists():
                    continue
                res = {m: arrays[m][i, col] for m in arrays}
                res.update({m: static[m][i] for m in static})
                if codes[i, col] >= 0:
                    res["machine"] = machines[codes[i, col]]
                _write_part(parts, k, s, res)
                n += 1
    return n


def build_table(out: str | os.PathLike, *, protocol, seeds=(0, 1, 2), limit: int | None = None,
                max_jobs: int | None = None, **kwargs) -> dict:
    """Check the arguments and the output path, hold the build's lock (one build per table:
    a second one, or a second assembly, is refused) and build (`_build_table`)."""
    check_seeds_and_limit(list(seeds), limit, max_jobs)
    out = prepare_out_file(out)
    parts = out.with_name(out.name + ".parts")
    if parts.exists() and not parts.is_dir():
        raise NasbenchError(f"{parts} (the build's journal) is a file; move it away")
    try:
        parts.mkdir(exist_ok=True)
    except OSError as e:
        raise NasbenchError(f"cannot create the build journal {parts}: {e.strerror}") from None
    with exclusive(parts / LOCK_NAME, f"the table {out}"):
        return _build_table(out, protocol=protocol, seeds=seeds, limit=limit, max_jobs=max_jobs, **kwargs)


def _build_table(out: str | os.PathLike, *, protocol, seeds=(0, 1, 2), space: str = "nb201",
                name: str | None = None, limit: int | None = None, workers: int = 1,
                dask_scheduler: str | None = None, progress: bool | None = None,
                max_jobs: int | None = None, group_seeds: bool = True, log=print) -> dict:
    """Train what is missing, then assemble the table at `out`. Returns a summary dict.

    max_jobs: stop after that many new trainings (then assemble the partial table).
    group_seeds: train the missing seeds of a cell in one vectorised job (cell-major
    order); False: one training per job, seed-major (the module docstring)."""
    import sys

    out = Path(out)
    if out.suffix != ".h5":
        raise NasbenchError(f"--out must end in .h5, got {out}")
    sp = get_space(space)
    plan = make_plan(sp, seeds, limit)
    parts = out.with_name(out.name + ".parts")
    parts.mkdir(parents=True, exist_ok=True)
    meta_path = parts / "build.json"
    meta = {"protocol": protocol.to_dict(), "seeds": plan.seeds, "space": sp.name, "limit": limit}
    _check_journal(parts, meta_path, meta, plan)
    moved = _explode_existing(out, parts, plan, protocol)
    jobs = plan.jobs if not group_seeds else [(k, s) for k in plan.keys for s in plan.seeds]
    todo = [(k, s) for k, s in jobs if not (parts / _part_name(k, s)).exists()]
    total_jobs = len(plan.jobs)
    already = total_jobs - len(todo)
    if max_jobs is not None:
        todo = todo[:max_jobs]
    log(f"build {out.name}: {len(plan.keys)} distinct cells x {len(plan.seeds)} seed{'s' if len(plan.seeds) != 1 else ''} = {total_jobs} "
        f"trainings; {already} already done{f' ({moved} taken from the existing table)' if moved else ''}, "
        f"{len(todo)} to train now")
    if progress is None:
        progress = sys.stderr.isatty()
    t0 = time.perf_counter()
    if todo:
        from tqdm.auto import tqdm

        fn, calls = _train_calls(todo, plan, sp.name, protocol.to_dict(), group_seeds)
        bar = tqdm(total=len(todo), desc="training", unit="training", disable=not progress, smoothing=0.05)
        step = max(1, len(todo) // 100)
        n = 0
        for res in parallel_map(fn, calls, workers, dask_scheduler):
            for r in (res if isinstance(res, list) else [res]):
                _write_part(parts, r["key"], r["seed"], r)
                n += 1
                bar.update(1)
                if not progress and (n % step == 0 or n == len(todo)):  # a log line per 1% without a terminal
                    el = time.perf_counter() - t0
                    log(f"  {n}/{len(todo)} trained, {el / 60:.1f} min elapsed, ETA {el / n * (len(todo) - n) / 60:.1f} min")
        bar.close()
    wall = time.perf_counter() - t0
    summary = assemble(out, plan, protocol, name=name or out.stem)
    summary.update(new_trainings=len(todo), wall_seconds=wall)
    log(f"wrote {out} ({summary['done']}/{summary['total']} trainings, {out.stat().st_size / 1e6:.1f} MB, "
        f"content hash {summary['content_hash'][:12]}); {len(todo)} trained in {wall:.1f} s")
    return summary


def _resolution(plan: BuildPlan, arrays: dict, present: np.ndarray) -> dict:
    """Seed noise and ranking reliability over the distinct cells trained with every seed."""
    from nasbench_lab.tables.resolution import seed_statistics

    reps = [plan.representative[k] for k in plan.keys if present[plan.representative[k]].all()]
    if len(reps) < 3:
        return {"n_cells": len(reps), "n_seeds": len(plan.seeds)}
    v = arrays["valid_acc"][reps, :, -1].astype(np.float64).T
    t = arrays["test_acc"][reps, :, -1].astype(np.float64).T
    ok = np.isfinite(v).all(0) & np.isfinite(t).all(0)
    res = seed_statistics(v[:, ok], t[:, ok])
    return {k: (round(x, 4) if isinstance(x, float) else x) for k, x in res.items()}


def _check_part(path: Path, r: dict, epochs: int) -> None:
    """A journal entry fits this build: every curve has one finite-or-NaN float per epoch of
    the protocol, every static value is one number (else it came from another build)."""
    for m in PART_METRICS:
        a = r.get(m)
        if a is None or a.shape != (epochs,) or a.dtype.kind != "f":
            got = "missing" if a is None else f"{a.dtype} {a.shape}"
            raise NasbenchError(f"journal entry {path} does not fit this build ({m} is {got}, the protocol has "
                                f"{epochs} epochs): it comes from another build; delete it (or the journal "
                                "folder) and rerun")
        if np.isinf(a).any() or (a < 0).any():  # the table would refuse it on every read (check_values)
            raise NasbenchError(f"journal entry {path} is damaged ({m} holds negative or infinite values: "
                                "accuracies, losses and times are NaN or finite and >= 0); delete it and rerun")
    for m in PART_STATIC:
        a = r.get(m)
        if a is None or a.shape != () or a.dtype.kind not in "fiu":
            raise NasbenchError(f"journal entry {path} is damaged ({m} is not one number); delete it and rerun")
    a = r.get("machine")
    if a is not None and (a.shape != () or a.dtype.kind != "U" or not is_machine_text(str(a))):
        raise NasbenchError(f"journal entry {path} is damaged (machine is not one text: one printable line "
                            f"of 1..{MAX_MACHINE_TEXT} characters); delete it and rerun")


def assemble(out: Path, plan: BuildPlan, protocol, name: str) -> dict:
    """Write the table from the journal: every index of a key gets that key's entry."""
    parts = out.with_name(out.name + ".parts")
    n, S = plan.space.size, len(plan.seeds)
    E = int(protocol.epochs)
    arrays = {m: np.full((n, S, E), np.nan, dtype=np.float32) for m in PART_METRICS}
    present = np.zeros((n, S), dtype=bool)
    static = {m: np.full(n, np.nan) for m in PART_STATIC}
    built_on = np.full((n, S), -1, dtype=np.int16)
    machines: dict[str, int] = {}
    counts: dict[str, int] = {}
    done = 0
    train_seconds = 0.0
    for k in plan.keys:
        idx = plan.members[k]
        for c, s in enumerate(plan.seeds):
            p = parts / _part_name(k, s)
            if not p.exists():
                continue
            try:
                r = _read_part(p)
                same = str(r["key"]) == k and int(r["seed"]) == s
            except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as e:
                raise NasbenchError(f"journal entry {p} is damaged ({type(e).__name__}); delete it and "
                                    "rerun the build to retrain that cell") from None
            if not same:
                raise NasbenchError(f"journal entry {p} holds another cell; delete it and rerun")
            _check_part(p, r, E)
            for m in PART_METRICS:
                arrays[m][idx, c, :] = r[m]
            present[idx, c] = True
            who = str(r["machine"]) if "machine" in r else NOT_RECORDED
            counts[who] = counts.get(who, 0) + 1
            if who != NOT_RECORDED:
                built_on[idx, c] = machines.setdefault(who, len(machines))
            for m in PART_STATIC:
                if np.isnan(static[m][idx[0]]):
                    static[m][idx] = float(r[m])
            done += 1
            train_seconds += float(r["train_time"][-1])
    total = len(plan.jobs)
    provenance = {
        "protocol": protocol.to_dict(), "data_seed": protocol.to_dict().get("data_seed"),
        "trainer": "nasbench_lab.live (numpy)", "software_version": __version__,
        "numpy_version": np.__version__, "python": platform.python_version(),
        "assembled_on": f"{platform.machine()}, {os.cpu_count()} cores",
        "built_on": dict(sorted(counts.items(), key=lambda kv: (kv[0] == NOT_RECORDED, kv[0]))),
        "distinct_cells": len(plan.keys), "seeds": plan.seeds,
        "trainings_done": done, "trainings_total": total, "complete": done == total,
        "total_train_seconds": round(train_seconds, 2),
        "note": "cells with the same canonical key share one entry (trained once per seed)",
        "resolution": _resolution(plan, arrays, present),
    }
    rows = [plan.representative[k] for k in plan.keys]
    calibrated = fit_time_scale(arrays["train_time"][:, :, -1], present, built_on, list(machines),
                                static["flops"], rows)
    # replace=True: an existing table at `out` was checked to be this build's (_check_existing_table)
    with TableWriter(out, name=name, space=plan.space, dataset=protocol.dataset, provenance=provenance,
                     replace=True) as w:
        sname = str(E)
        w.add_schedule(sname, epochs=E, recorded_epochs=range(1, E + 1), seeds=plan.seeds,
                       protocol=protocol.to_dict())
        for m, a in arrays.items():
            w.write(sname, m, a)
        w.set_present(sname, present)
        w.set_built_on(sname, built_on, list(machines))
        if calibrated is not None:
            w.set_time_scale(sname, *calibrated)
        for m, a in static.items():
            w.set_static(m, a)
    from nasbench_lab.tables.table import Table

    with Table(out) as t:
        digest = t.content_hash
    return {"done": done, "total": total, "content_hash": digest, "distinct_cells": len(plan.keys)}
