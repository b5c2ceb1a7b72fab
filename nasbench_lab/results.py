"""Stored results: one JSON file per finished run, written atomically and never overwritten.

DIR/config.json                          the experiment's configuration (everything that
                                         makes runs comparable: tables and their hashes,
                                         strategies and parameters, seed, budget, schedules)
DIR/runs/<table>/<strategy>/run-NNNNN.json   one RunRecord each

A run file appears only once complete (write to a temporary name, then rename), so a killed
experiment loses at most the runs in flight, and rerunning reuses every finished run.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from nasbench_lab import NasbenchError
from nasbench_lab.runner import RunRecord

CONFIG = "config.json"


def _atomic_write_json(path: Path, obj) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f, separators=(",", ":"), allow_nan=True)
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
        if config is None:  # open existing results (report, verify)
            if not cfg_path.is_file():
                raise NasbenchError(f"{self.dir} holds no nasbench_lab results (no {CONFIG}); "
                                    "give the --out DIR of a run or compare")
            self.config = self._read_config(cfg_path)
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

    @staticmethod
    def _read_config(path: Path) -> dict:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise NasbenchError(f"{path} is unreadable ({e}); move it away or use a new --out DIR") from None

    def run_path(self, table: str, strategy: str, run: int) -> Path:
        return self.dir / "runs" / table / strategy / f"run-{run:05d}.json"

    def has(self, table: str, strategy: str, run: int) -> bool:
        return self.run_path(table, strategy, run).is_file()

    def save(self, record: RunRecord) -> None:
        m = record.meta
        p = self.run_path(m["table"], m["strategy"], m["run"])
        if p.exists():
            return
        p.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write_json(p, record.to_dict())

    def load(self, table: str, strategy: str, runs: int | None = None) -> list[RunRecord]:
        d = self.dir / "runs" / table / strategy
        files = sorted(d.glob("run-*.json")) if d.is_dir() else []
        out = []
        for f in files:
            if runs is not None and int(f.stem.split("-")[1]) >= runs:
                continue
            try:
                out.append(RunRecord.from_dict(json.loads(f.read_text())))
            except (OSError, ValueError, TypeError) as e:
                raise NasbenchError(f"{f} is damaged ({type(e).__name__}); delete it and rerun "
                                    "the same command to redo that run") from None
        return out

    def tables(self) -> list[str]:
        d = self.dir / "runs"
        return sorted(p.name for p in d.iterdir() if p.is_dir()) if d.is_dir() else []

    def strategies(self, table: str) -> list[str]:
        d = self.dir / "runs" / table
        return sorted(p.name for p in d.iterdir() if p.is_dir()) if d.is_dir() else []
