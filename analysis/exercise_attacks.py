"""Run each cheating student file of tests/exercise_attacks.py through `nasbench-lab exercise grade`.

    python analysis/exercise_attacks.py [--timeout 60] [-- extra grade options]

One line per attack: the CLI's exit status (or 'hung' when it ran past --timeout), wall seconds,
whether files appeared in the grader's working directory, and the report's RESULT line or the
failing check. A grade that is fooled exits 0 (or hangs); a sound one exits 1 with a reason.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main() -> int:
    from exercise_attacks import ATTACKS

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("extra", nargs="*", help="more options for `exercise grade`")
    args = p.parse_args()
    exe = shutil.which("nasbench-lab") or str(Path(sys.executable).parent / "nasbench-lab")
    print(f"{'attack':<22} {'exit':>5} {'s':>6}  cwd files  result")
    for name, (text, _words) in ATTACKS.items():
        with tempfile.TemporaryDirectory() as tmp:
            folder, cwd = Path(tmp) / "ex", Path(tmp) / "cwd"
            cwd.mkdir()
            subprocess.run([exe, "exercise", "start", "random-search", str(folder)], check=True,
                           capture_output=True)
            (folder / "my_strategy.py").write_text(text)
            t0 = time.perf_counter()
            try:
                proc = subprocess.run([exe, "exercise", "grade", str(folder), "--table", "nb201-3ops-small",
                                       *args.extra], cwd=cwd, capture_output=True, text=True,
                                      timeout=args.timeout, start_new_session=True)
                rc, out = str(proc.returncode), (proc.stdout + proc.stderr).strip().splitlines()
            except subprocess.TimeoutExpired:
                rc, out = "hung", []
            dt = time.perf_counter() - t0
            left = sorted(p.name for p in cwd.iterdir())
            fails = [ln.strip()[4:].strip() for ln in out if ln.strip().startswith("FAIL ")]
            last = ("FAIL " + "; ".join(fails)) if fails else (out[-1] if out else "(no output)")
            if out and out[-1].startswith("RESULT: PASSED"):
                last = out[-1]
            print(f"{name:<22} {rc:>5} {dt:6.1f}  {','.join(left) or '-':<9}  {last[:110]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
