"""Running the student's code for a grade: start its process, import the file, call its functions; each outcome becomes a report item."""
from __future__ import annotations

from pathlib import Path

from nasbench_lab import NasbenchError
from nasbench_lab.exercises import Exercise
from nasbench_lab.exercises.report import GradeReport, describe, hint_for
from nasbench_lab.exercises.sandbox import CallTimeout, Clock, Sandbox, SandboxError, StudentError

CALL_SECONDS = 20.0  # a function exercise's call may take this long


def open_sandbox(report: GradeReport, folder: Path, ex: Exercise, clock: Clock, *, spec: str | None = None,
                 hash_seed: str = "1234", quiet: bool = False, tables=()) -> Sandbox | None:
    """A started sandbox with the student's file imported (or the class `spec` loaded), the
    outcome added to the report under "Load"; None when it cannot be imported."""
    label = spec or ex.student_file
    if spec is None and not (folder / ex.student_file).is_file():
        report.add("Load", f"read {ex.student_file}", "fail", f"{folder / ex.student_file} is missing",
                   "Start again in a new folder (nasbench-lab exercise start) and copy your code over.")
        return None
    sb = Sandbox(folder, None if spec else ex.student_file, clock, spec=spec, hash_seed=hash_seed, tables=tables)
    try:
        sb.start()
    except StudentError as e:
        sb.close()
        if spec is not None and isinstance(e, NasbenchError):   # a bad --strategy: the CLI's one-line error
            raise NasbenchError(str(e)) from None
        if e.type_name == "SyntaxError":
            report.add("Load", f"import {label}", "fail", f"SyntaxError {e}",
                       "Python cannot read the file: fix the syntax error first.")
        else:
            report.add("Load", f"import {label}", "fail", f"importing raised {describe(e)}",
                       hint_for(f"{e.type_name}: {e}"))
        return None
    except CallTimeout as e:
        sb.close()
        report.add("Load", f"import {label}", "fail", f"{e} (an endless loop at the top level of {label}?)",
                   hint_for("did not finish"))
        return None
    except SandboxError as e:
        sb.close()
        report.add("Load", f"import {label}", "fail", f"importing {label}: {e}", hint_for(str(e)))
        return None
    except BaseException:
        sb.close()
        raise
    if not quiet:
        report.add("Load", f"import {label}", "pass")
    return sb


def need(report: GradeReport, sb: Sandbox, ex: Exercise, names) -> bool:
    """The student's file defines these functions."""
    have = set(sb.info.get("functions") or [])
    missing = [n for n in names if n not in have]
    if missing:
        report.add("Load", "find " + ", ".join(names), "fail", f"{ex.student_file} has no {', '.join(missing)}",
                   "Keep the skeleton's function names and signatures.")
        return False
    report.add("Load", "find " + ", ".join(names), "pass")
    return True


def open_with_functions(report: GradeReport, folder: Path, ex: Exercise, clock: Clock, names) -> Sandbox | None:
    """`open_sandbox` for a function exercise whose file must define `names`; None (the report
    says "nothing to grade yet", the sandbox closed) when it cannot be imported or lacks one."""
    sb = open_sandbox(report, folder, ex, clock)
    if sb is None or not need(report, sb, ex, names):
        report.stopped = "nothing to grade yet."
        if sb is not None:
            sb.close()
        return None
    return sb


def call(report: GradeReport, section: str, name: str, sb: Sandbox, fn: str, *args, recipe: str | None = None,
         return_args: bool = False, limit: float = CALL_SECONDS, **kw):
    """(ok, value, arguments after the call) of the student's function `fn` called in its process;
    a failure is reported. With `recipe`, the process builds the arguments from `args` itself."""
    try:
        out = sb.request("function", name=fn, args=list(args), kwargs=kw, recipe=recipe,
                         return_args=return_args, limit=limit)
        return True, out["value"], out["args"]
    except CallTimeout as e:
        report.add(section, name, "fail", str(e), hint_for("did not finish"))
    except (StudentError, SandboxError) as e:
        msg = describe(e)
        report.add(section, name, "fail", f"raised {msg}" if isinstance(e, StudentError) else msg, hint_for(msg))
    return False, None, None
