"""Stored results: one SQLite database per results directory, one row per finished run.

DIR/config.json       the experiment's configuration (everything that makes runs comparable:
                      tables and their hashes, strategies and parameters, seed, budget, schedules)
DIR/results.sqlite    the runs (SQLite in WAL mode; -wal and -shm files sit next to it while
                      a process has it open). Readable with any SQLite client:

  info(key TEXT PRIMARY KEY, value TEXT)   'layout' = LAYOUT; 'migrated_json_runs' = how many
                                           run files of an older directory were taken in
  runs(table_name, strategy, run,          one row per run; PRIMARY KEY (table_name, strategy, run)
       seed, n_queries,
       final_valid, final_test,            the reported incumbent when the budget ran out (its
       final_arch, final_time,             report-schedule valid/test accuracy, index, clock); NULL
                                           when the run made no query (or the value is NaN)
       meta,                               JSON object: strategy, params, seed, run, table,
                                           table_hash, space, schedules, budget, software_version,
                                           wall_seconds
       time, arch, epoch, cost, valid,     the trajectory, one entry per query, each column a
       incumbent, incumbent_valid,         BLOB of little-endian values: '<i4' for arch, epoch
       incumbent_test)                     and incumbent, '<f8' for the others (numpy.frombuffer)

A run is written in one transaction (all of it, or nothing: a process killed at any moment,
SIGKILL included, leaves every committed run whole and no partial one), never overwritten
(INSERT OR IGNORE: the first stored copy of a run stays), and rerunning the same command
reuses every stored run. A directory of the older layout (DIR/runs/<table>/<strategy>/
run-NNNNN.json, one JSON file per run) is taken into the database the first time it is
opened; the JSON files are left as they were.
"""
from __future__ import annotations

import json
import math
import os
import sqlite3
from pathlib import Path

import numpy as np

from nasbench_lab import NasbenchError, results_check
from nasbench_lab.runner import TRAJECTORY, RunRecord

CONFIG = "config.json"
DB = "results.sqlite"
LAYOUT = "nasbench_lab.results/2"
#: on-disk dtype of each trajectory column (little-endian, one value per query)
BLOB_DTYPES = {k: ("<i4" if np.dtype(dt).kind == "i" else "<f8") for k, dt in TRAJECTORY.items()}
_COLS = tuple(TRAJECTORY)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    table_name TEXT NOT NULL, strategy TEXT NOT NULL, run INTEGER NOT NULL,
    seed INTEGER, n_queries INTEGER NOT NULL,
    final_valid REAL, final_test REAL, final_arch INTEGER, final_time REAL,
    meta TEXT NOT NULL,
    {", ".join(f"{c} BLOB NOT NULL" for c in _COLS)},
    PRIMARY KEY (table_name, strategy, run));
"""
_INSERT = (f"INSERT OR IGNORE INTO runs (table_name, strategy, run, seed, n_queries, final_valid, "
           f"final_test, final_arch, final_time, meta, {', '.join(_COLS)}) "
           f"VALUES ({', '.join('?' * (10 + len(_COLS)))})")


def _atomic_write_json(path: Path, obj) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    text = json.dumps(obj, separators=(",", ":"), allow_nan=True)  # the C encoder (json.dump streams in Python)
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _identity(value):
    """A configuration value without table paths: a table is identified by name and content hash."""
    if isinstance(value, dict):
        return {k: _identity(v) for k, v in value.items() if k != "path"}
    return value


class ResultStore:
    def __init__(self, directory: str | os.PathLike, config: dict | None = None):
        self.dir = Path(directory)
        cfg_path = self.dir / CONFIG
        self._con = None
        results_check.check_runs_have_config(self.dir, CONFIG)
        if not cfg_path.exists() and (self.dir / DB).is_file() and _db_holds_runs(self.dir / DB):
            raise NasbenchError(f"{self.dir} holds runs but no {CONFIG}, so nothing says which configuration "
                                f"made them; restore {CONFIG} or use a new --out DIR (nothing was overwritten)")
        if config is None:  # open existing results (report, verify)
            if not cfg_path.is_file():
                raise NasbenchError(f"{self.dir} holds no nasbench_lab results (no {CONFIG}); "
                                    "give the --out DIR of a run or compare")
            self.config = self._read_config(cfg_path)
            self._open_db()
            return
        if cfg_path.is_file():
            old = self._read_config(cfg_path)
            diff = sorted(k for k in set(old) | set(config)
                          if _identity(old.get(k)) != _identity(config.get(k)))
            if diff:
                raise NasbenchError(
                    f"{self.dir} holds results of another configuration (differs in: {', '.join(diff)}); "
                    "use a new --out DIR (nothing was overwritten)")
            if old != config:  # the same tables reached by another path: remember the new path
                _atomic_write_json(cfg_path, config)
        else:
            self.dir.mkdir(parents=True, exist_ok=True)
            _atomic_write_json(cfg_path, config)
        self.config = config
        self._open_db()

    @staticmethod
    def _read_config(path: Path) -> dict:
        try:
            cfg = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise NasbenchError(f"{path} is unreadable ({e}); move it away or use a new --out DIR") from None
        if not isinstance(cfg, dict) or not all(isinstance(cfg.get(k, {}), dict) for k in ("tables", "strategies")):
            raise NasbenchError(f"{path} is damaged (not a nasbench_lab configuration); move it away or use "
                                "a new --out DIR")
        return cfg

    # --- the database -----------------------------------------------------------------------
    def _open_db(self) -> None:
        path = self.dir / DB
        try:
            con = sqlite3.connect(path, timeout=60.0, isolation_level=None, check_same_thread=False)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")  # WAL: committed runs survive a killed process
            con.executescript(_SCHEMA)
            row = con.execute("SELECT value FROM info WHERE key='layout'").fetchone()
        except sqlite3.DatabaseError as e:
            raise NasbenchError(f"{path} is not a readable results database ({e}); move it away or use "
                                "a new --out DIR") from None
        if row is None:
            con.execute("INSERT OR IGNORE INTO info VALUES ('layout', ?)", (LAYOUT,))
        elif row[0] != LAYOUT:
            raise NasbenchError(f"{path} has layout {row[0]!r}; this nasbench_lab reads {LAYOUT!r}: "
                                "use the nasbench_lab that wrote it, or a new --out DIR")
        self._con = con
        if con.execute("SELECT 1 FROM info WHERE key='migrated_json_runs'").fetchone() is None:
            self._migrate_json()

    def _migrate_json(self) -> None:
        """Take the run files of the older layout (runs/<table>/<strategy>/run-NNNNN.json) in."""
        records = []
        root = self.dir / "runs"
        for tdir in sorted(root.iterdir()) if root.is_dir() else []:
            for sdir in sorted(tdir.iterdir()) if tdir.is_dir() else []:
                for f in sorted(sdir.glob("*.json")) if sdir.is_dir() else []:
                    try:
                        d = json.loads(f.read_text())
                        results_check.check_run(d, f, table=tdir.name, strategy=sdir.name, config=self.config)
                        records.append(RunRecord.from_dict(d))
                    except (OSError, ValueError, TypeError) as e:
                        raise NasbenchError(f"{f} is damaged ({type(e).__name__}); delete it and rerun "
                                            "the same command to redo that run") from None
        self._insert(records, extra=("migrated_json_runs", str(len(records))))

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _pseudo_path(self, table, strategy, run) -> Path:
        """Where a run lies, for messages (DIR/results.sqlite/<table>/<strategy>/run-NNNNN)."""
        return self.dir / DB / str(table) / str(strategy) / f"run-{int(run):05d}"

    def _insert(self, records, extra=None) -> None:
        rows = []
        for r in records:
            m = r.meta
            results_check.check_run_fits_config(m, self._pseudo_path(m["table"], m["strategy"], m["run"]),
                                                self.config)
            f = r.final
            rows.append((m["table"], m["strategy"], int(m["run"]), m.get("seed"), r.n_queries,
                         _real(f["valid"]), _real(f["test"]), f["arch"], _real(f["time"]),
                         json.dumps(m, separators=(",", ":"), allow_nan=True),
                         *(getattr(r, c).astype(BLOB_DTYPES[c], copy=False).tobytes() for c in _COLS)))
        con = self._con
        con.execute("BEGIN IMMEDIATE")
        try:
            con.executemany(_INSERT, rows)
            if extra is not None:
                con.execute("INSERT OR REPLACE INTO info VALUES (?, ?)", extra)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    # --- the API -----------------------------------------------------------------------------
    def has(self, table: str, strategy: str, run: int) -> bool:
        return self._con.execute("SELECT 1 FROM runs WHERE table_name=? AND strategy=? AND run=?",
                                 (table, strategy, int(run))).fetchone() is not None

    def stored_runs(self, table: str, strategy: str) -> set[int]:
        """The run indices stored for (table, strategy)."""
        return {r for (r,) in self._con.execute(
            "SELECT run FROM runs WHERE table_name=? AND strategy=?", (table, strategy))}

    def count(self, table: str, strategy: str) -> int:
        return self._con.execute("SELECT COUNT(*) FROM runs WHERE table_name=? AND strategy=?",
                                 (table, strategy)).fetchone()[0]

    def save(self, record: RunRecord) -> None:
        """Store one finished run (ignored when that run is already stored)."""
        self._insert([record])

    def save_many(self, records) -> None:
        """Store several finished runs in one transaction (each already stored one is kept)."""
        self._insert(list(records))

    def load(self, table: str, strategy: str, runs: int | None = None) -> list[RunRecord]:
        """The stored runs of (table, strategy) with index < `runs` (all if None), by index."""
        q = f"SELECT run, meta, {', '.join(_COLS)} FROM runs WHERE table_name=? AND strategy=?"
        out = []
        for row in self._select_runs(q, table, strategy, runs):
            try:
                meta = json.loads(row[1])
                cols = {c: np.frombuffer(b, dtype=BLOB_DTYPES[c]) for c, b in zip(_COLS, row[2:])}
                if not isinstance(meta, dict) or len({v.size for v in cols.values()}) != 1:
                    raise ValueError("columns of different lengths" if isinstance(meta, dict) else "meta")
            except (ValueError, TypeError) as e:
                raise NasbenchError(f"run {row[0]} of {strategy!r} on {table!r} in {self.dir / DB} is damaged "
                                    f"({e}); delete that row and rerun the same command to redo it") from None
            results_check.check_run_fits_config(meta, self._pseudo_path(table, strategy, row[0]), self.config)
            out.append(RunRecord(meta, **cols))
        return out

    def load_columns(self, table: str, strategy: str, runs: int | None = None,
                     columns=("time", "incumbent", "incumbent_valid", "incumbent_test")) -> dict:
        """What `load` reads, without a RunRecord per run: {"run": int64[R], "meta": [dict] * R,
        "length": int64[R] (queries of each run), and for each of `columns` the trajectories of
        every run one after the other, one flat read-only array (dtype as in RunRecord)}. The same checks
        as `load`: every meta a JSON object, a run's columns of one length, the configuration's
        seed, budget and table hashes."""
        cols = tuple(_COLS if columns is None else columns)
        q = (f"SELECT run, meta, ({' AND '.join(f'typeof({c})=' + repr('blob') for c in _COLS)}), "
             f"{', '.join(f'length({c})' for c in _COLS)}, {', '.join(cols)} FROM runs "
             "WHERE table_name=? AND strategy=?")
        rows = self._select_runs(q, table, strategy, runs).fetchall()
        k = len(_COLS)
        run = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        info = np.array([r[2:3 + k] for r in rows], dtype=np.int64).reshape(len(rows), 1 + k)
        item = np.array([np.dtype(BLOB_DTYPES[c]).itemsize for c in _COLS], dtype=np.int64)
        per_col = info[:, 1:] // item
        bad = set(np.flatnonzero((info[:, 0] == 0) | (per_col != per_col[:, :1]).any(axis=1)
                                 | (info[:, 1:] % item != 0).any(axis=1)).tolist())
        try:  # one parse of every meta; a damaged one is found row by row below
            metas = json.loads("[" + ",".join(r[1] for r in rows) + "]")
            ok = len(metas) == len(rows) and not bad and all(type(m) is dict for m in metas)
        except (ValueError, TypeError):
            ok = False
        if not ok:
            metas = []
            for i, r in enumerate(rows):
                try:
                    meta = json.loads(r[1])
                    if not isinstance(meta, dict) or i in bad:
                        raise ValueError("columns of different lengths" if isinstance(meta, dict) else "meta")
                except (ValueError, TypeError) as e:
                    raise NasbenchError(f"run {r[0]} of {strategy!r} on {table!r} in {self.dir / DB} is damaged "
                                        f"({e}); delete that row and rerun the same command to redo it") from None
                metas.append(meta)
        checked = set()
        for r, meta in zip(rows, metas):  # the check reads only these fields: once per distinct set
            key = tuple((f in meta, repr(meta.get(f))) for f in results_check.RUN_CONFIG_FIELDS)
            if key not in checked:
                results_check.check_run_fits_config(meta, self._pseudo_path(table, strategy, r[0]), self.config)
                checked.add(key)
        out = {"run": run, "meta": metas, "length": per_col[:, 0].copy()}
        for j, c in enumerate(cols, start=3 + k):
            flat = np.frombuffer(b"".join([r[j] for r in rows]), dtype=BLOB_DTYPES[c])
            out[c] = flat.astype(TRAJECTORY[c], copy=False)  # little-endian on disk: no copy here
        return out

    def _select_runs(self, query: str, table: str, strategy: str, runs: int | None) -> sqlite3.Cursor:
        """A cursor over the rows of `query` (ending in its WHERE on table and strategy) for runs 0..runs-1, by run."""
        args = [table, strategy]
        if runs is not None:
            query += " AND run < ?"
            args.append(int(runs))
        return self._con.execute(query + " ORDER BY run", args)

    def finals(self, table: str, strategy: str, runs: int | None = None) -> dict[str, np.ndarray]:
        """Per-run summary columns without reading trajectories: run, n_queries, valid, test,
        arch (-1: none), time; NaN where the database holds NULL."""
        q = ("SELECT run, n_queries, final_valid, final_test, final_arch, final_time FROM runs "
             "WHERE table_name=? AND strategy=?")
        rows = self._select_runs(q, table, strategy, runs).fetchall()
        a = np.array(rows, dtype=float).reshape(len(rows), 6)
        return {"run": a[:, 0].astype(np.int64), "n_queries": a[:, 1].astype(np.int64), "valid": a[:, 2],
                "test": a[:, 3], "arch": np.nan_to_num(a[:, 4], nan=-1).astype(np.int64), "time": a[:, 5]}

    def tables(self) -> list[str]:
        return [t for (t,) in self._con.execute("SELECT DISTINCT table_name FROM runs ORDER BY table_name")]

    def strategies(self, table: str) -> list[str]:
        return [s for (s,) in self._con.execute(
            "SELECT DISTINCT strategy FROM runs WHERE table_name=? ORDER BY strategy", (table,))]


def _real(x):
    """A float for an SQL REAL column (NaN and None -> NULL)."""
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _db_holds_runs(path: Path) -> bool:
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60.0)
        try:
            return con.execute("SELECT 1 FROM runs LIMIT 1").fetchone() is not None
        finally:
            con.close()
    except sqlite3.DatabaseError:
        return True  # unreadable: treat as holding runs (refuse rather than overwrite)
