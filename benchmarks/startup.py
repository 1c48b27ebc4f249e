"""Start-up: `reconciler --version` and `reconciler validate FILE` against `python -c "import yaml, httpx"`.

Issue 18's target: each command takes at most 1.5x the wall time of the baseline (the two libraries
any Telnyx script imports), measured as a ratio in one run on one machine.

    python benchmarks/startup.py                         # 15 rounds, this checkout
    python benchmarks/startup.py --runs 31 --tree /path/to/other/checkout

How it measures: every command is a child process of the same interpreter (``sys.executable``), run
``--runs`` times; the rounds are interleaved (baseline, then each command, then the next round, each
round in a rotated order) so that load from other processes on the machine affects every command
alike. One warm-up round first (not counted) writes the bytecode caches. Wall time is measured
around the child; CPU time (user + system) comes from ``os.wait4`` on that child alone. The table
shows the medians.

The commands run as ``python -m reconciler ...`` with ``PYTHONPATH`` set to ``--tree`` (default: the
checkout this script is in), so the tree measured is the one named whatever is installed. The
``reconciler`` console script does the same (``from reconciler.cli import main; sys.exit(main())``)
without runpy's lookup of ``reconciler/__main__.py``, well under a millisecond; ``--script PATH``
measures an installed console script instead (then ``--tree`` only sets ``PYTHONPATH``).

Bytecode: an installed package has its ``.pyc`` files (pip writes them at install), but a checkout run
with ``PYTHONDONTWRITEBYTECODE=1`` compiles every module of the tree at every start while the
baseline's libraries load their ``.pyc``. By default the children write and read bytecode under a
temporary ``PYTHONPYCACHEPREFIX`` (filled by the warm-up round; the tree is not touched), as
installed. ``--no-bytecode`` runs them with ``PYTHONDONTWRITEBYTECODE=1`` and no prefix instead:
the tree's modules compile at each start (as a checkout without ``__pycache__`` in this sandbox).

``validate`` reads one Assistant manifest this script writes to a temporary directory, which is also
the children's working directory (no ``reconciler.yaml`` there). ``--help`` is shown for information
(not part of the target). Exit status 1 when a command fails or prints something unexpected.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = 1.5

MANIFEST = """\
apiVersion: reconciler/v1
kind: Assistant
name: startup-probe
spec:
  model: openai/gpt-4o
  instructions: Answer the support line and keep answers short.
  greeting: Hello, how can I help?
  tools:
    - type: hangup
      hangup:
        description: End the call once the caller says goodbye.
"""


@dataclass
class Command:
    label: str
    argv: list[str]
    expect: str
    """Text its stdout must contain (a command that did not do its job is not timed)."""
    target: bool = True
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)


def timed(command: Command, env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one child; fails loudly unless it exits 0 and prints what it should."""
    with (cwd / "output.txt").open("w+b") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(command.argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        output = out.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0 or command.expect not in output:
        raise SystemExit(f"{' '.join(command.argv)} failed or printed something unexpected:\n{output[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def commands(manifest: Path, script: str | None) -> list[Command]:
    reconciler = [script] if script else [sys.executable, "-m", "reconciler"]
    return [
        Command('python -c "import yaml, httpx"', [sys.executable, "-c", "import yaml, httpx"], "", target=False),
        Command("reconciler --version", [*reconciler, "--version"], "reconciler, version"),
        Command("reconciler validate FILE", [*reconciler, "validate", str(manifest)], "1 manifest valid."),
        Command("reconciler --help", [*reconciler, "--help"], "Commands:", target=False),
    ]


def measure(runs: int, tree: Path, script: str | None, bytecode: bool) -> list[Command]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree), *filter(None, [os.environ.get("PYTHONPATH")])])
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        work = Path(tmp)
        if bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            env.pop("PYTHONPYCACHEPREFIX", None)
        manifest = work / "assistant.yaml"
        manifest.write_text(MANIFEST, encoding="utf-8")
        cmds = commands(manifest, script)
        for command in cmds:  # warm-up: bytecode caches, the page cache
            timed(command, env, work)
        for round_ in range(runs):
            shift = round_ % len(cmds)
            for command in cmds[shift:] + cmds[:shift]:
                wall, cpu = timed(command, env, work)
                command.walls.append(wall)
                command.cpus.append(cpu)
    return cmds


def table(cmds: Sequence[Command]) -> str:
    baseline = statistics.median(cmds[0].walls)
    lines = [
        "| command | median wall ms | median CPU ms | ratio to baseline | target | met? |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for command in cmds:
        wall, cpu = statistics.median(command.walls), statistics.median(command.cpus)
        ratio = wall / baseline
        target = f"{TARGET}x" if command.target else "-"
        met = ("yes" if ratio <= TARGET else "**no**") if command.target else "-"
        lines.append(f"| `{command.label}` | {wall * 1000:.0f} | {cpu * 1000:.0f} | {ratio:.2f}x | {target} | {met} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start-up time of reconciler commands against a baseline.")
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each command, interleaved [15]")
    parser.add_argument("--tree", type=Path, default=HERE.parent,
                        help="checkout whose reconciler package is measured (PYTHONPATH) [this one]")
    parser.add_argument("--script", default=None, metavar="PATH",
                        help="run this console script instead of `python -m reconciler`")
    parser.add_argument("--no-bytecode", dest="bytecode", action="store_false",
                        help="PYTHONDONTWRITEBYTECODE=1: the tree's modules compile at every start")
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this file")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    cmds = measure(args.runs, args.tree.resolve(), args.script, args.bytecode)
    cache = "bytecode cached" if args.bytecode else "no bytecode (PYTHONDONTWRITEBYTECODE=1)"
    text = (f"Start-up, median of {args.runs} interleaved runs, {sys.executable} "
            f"(Python {sys.version.split()[0]}), {cache}, tree {args.tree.resolve()}\n\n" + table(cmds))
    print(text, end="")
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
