"""A process's own peak memory, and a launcher that reports it for the command it runs.

    python benchmarks/peak.py OUT reconciler plan DIR ...       # a console script
    python benchmarks/peak.py OUT benchmarks/sdk_baseline.py ... # a Python script

Why not ``ru_maxrss`` from ``wait4``: Linux keeps a process's peak across ``exec``, so a child
started by ``subprocess`` (``vfork`` then ``exec``) inherits its parent's peak. The benchmark's
parent runs the emulator, which at N = 5000 holds a few hundred MB, and that figure used to be
reported as the child's. ``VmHWM`` in ``/proc/self/status`` belongs to the current address space,
which ``exec`` replaces, so read from inside the child it is that program's own peak.

The launcher runs the command in its own interpreter (same start-up and imports as running it
directly) and writes the peak in MB to OUT when the command ends, however it ends; on a second line,
the largest peak among the processes it forked and reaped (``parse_ahead``'s child; 0 if none), which
counts the pages it shares with this process too, so the sum of both lines is an upper bound.
"""

from __future__ import annotations

import atexit
import resource
import runpy
import sys
from importlib.metadata import entry_points
from pathlib import Path


def own_peak_mb() -> float:
    """This process's peak resident memory since its last exec, in MB (VmHWM; ru_maxrss elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # may include a parent's, see above


def main() -> None:
    out, program, *args = sys.argv[1:]
    sys.argv = [program, *args]

    def write_peaks() -> None:
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        Path(out).write_text(f"{own_peak_mb():.1f}\n{children:.1f}\n", encoding="ascii")

    atexit.register(write_peaks)  # the reconciler script ends with os._exit after running exit handlers
    try:
        if program.endswith(".py"):
            runpy.run_path(program, run_name="__main__")
        else:
            (script,) = entry_points(group="console_scripts", name=Path(program).name)
            script.load()()
    finally:
        write_peaks()


if __name__ == "__main__":
    main()
