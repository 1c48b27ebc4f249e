"""CPU seconds to read every manifest of a workload into values, per YAML reader option.

    python benchmarks/yaml_reader.py                       # writes 1000 assistants to a temp dir
    python benchmarks/yaml_reader.py --dir /tmp/yaml-n1000 --repeat 9

Each option runs in a fresh process per round (so none inherits another's heap): the files are read
into memory first, then every text is turned into values under ``time.process_time``; the best of
``--repeat`` rounds counts. Printed as a markdown table with the ratio to
``yaml.load_all`` with ``CSafeLoader`` (what a hand-written script uses). The options:

  events only     libyaml's events, nothing built: the floor of any libyaml-based reader
  node reader     libyaml events, PyYAML's Python composer (bounded), our builder: the old read_yaml
  event reader    libyaml events built straight into values with lines and every bound: read_yaml
  C composer      libyaml composes nodes in C (``CSafeLoader.get_node``), our builder. None of our
                  bounds holds while it composes: six MB of ``- a`` lines become a million nodes (about
                  300 MB) before the builder may refuse them (libyaml itself stops nesting past 1000
                  levels). So it is shown twice: alone, and after the pass over the events that
                  would have to count nodes first
  ryml, yaml_rs,  compiled parsers from the package index (rapidyaml, yaml-rs, fastyaml-rs), when
  fastyaml-rs     installed; none gives the line of each key and item and all read YAML 1.2 (``on``,
                  ``0o17``, ``017`` change meaning; ryml gives only text), so they are shown for scale
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import workload  # noqa: E402

from reconciler.manifests import yaml_source  # noqa: E402


def load_all(text: str) -> Any:
    return list(yaml.load_all(text, Loader=yaml.CSafeLoader))


def events_only(text: str) -> Any:
    parser = yaml.cyaml.CParser(text)
    try:
        while not isinstance(parser.get_event(), yaml.StreamEndEvent):
            pass
    finally:
        parser.dispose()


def node_reader(text: str) -> Any:
    return yaml_source._read_nodes(text)


def event_reader(text: str) -> Any:
    return yaml_source.read_yaml(text)


def c_composer(text: str) -> Any:
    loader = yaml.CSafeLoader(text)
    budget = yaml_source._Budget()
    try:
        documents = []
        while loader.check_node():
            documents.append(yaml_source._build_document(loader.get_node(), budget))
        return documents
    finally:
        loader.dispose()


def c_composer_bounded(text: str) -> Any:
    events_only(text)  # the cheapest pass that could count nodes and nesting before composing
    return c_composer(text)


def ryml_parse(text: str) -> Any:
    import ryml  # type: ignore[import-not-found]

    return ryml.parse_in_arena(text.encode())  # a C++ tree only: no Python values, no lines


def yaml_rs_load(text: str) -> Any:
    import yaml_rs  # type: ignore[import-not-found]

    return yaml_rs.loads(text)


def fast_yaml_load(text: str) -> Any:
    import fast_yaml  # type: ignore[import-not-found]  # from the fastyaml-rs package

    return list(fast_yaml.safe_load_all(text))


OPTIONS: list[tuple[str, Callable[[str], Any]]] = [
    ("CSafeLoader load_all (reference)", load_all),
    ("libyaml events only (floor)", events_only),
    ("a. node reader (old read_yaml)", node_reader),
    ("b. event reader (read_yaml)", event_reader),
    ("c. C composer + builder, unbounded", c_composer),
    ("c. C composer + builder, bounding pass", c_composer_bounded),
    ("d. ryml parse_in_arena (tree only)", ryml_parse),
    ("d. yaml_rs loads", yaml_rs_load),
    ("d. fastyaml-rs safe_load_all", fast_yaml_load),
]


def measure(name: str, files: Sequence[Path]) -> float:
    """CPU seconds of one option over every text, in this (fresh) process."""
    function = dict(OPTIONS)[name]
    texts = [file.read_text(encoding="utf-8") for file in files]
    start = time.process_time()
    for text in texts:
        function(text)
    return time.process_time() - start


def child(name: str, directory: Path) -> float | None:
    """One measure in a fresh process, so no option inherits another's heap; None: not installed."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import yaml_reader; from pathlib import Path; "
        "print(yaml_reader.measure(sys.argv[2], sorted(Path(sys.argv[3]).rglob('*.yaml'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(HERE), name, str(directory)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        if "ModuleNotFoundError" in done.stderr:
            return None
        raise SystemExit(done.stderr)
    return float(done.stdout)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, help="manifests to read (default: write --n assistants)")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5, help="rounds; each option runs once per round")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.dir
        if directory is None:
            directory = Path(tmp)
            workload.write_manifests(directory, args.n)
        files = sorted(directory.rglob("*.yaml"))
        megabytes = sum(file.stat().st_size for file in files) / 1e6
        runs: dict[str, list[float]] = {name: [] for name, _ in OPTIONS}
        for _ in range(args.repeat):  # rounds interleave the options, so a busy moment hits them all
            for name, _ in OPTIONS:
                seconds = child(name, directory)
                if seconds is not None:
                    runs[name].append(seconds)
    print(f"{len(files)} files, {megabytes:.1f} MB; CPU seconds, best of {args.repeat} fresh processes\n")
    print("| option | CPU s | vs CSafeLoader |")
    print("| --- | ---: | ---: |")
    reference = min(runs[OPTIONS[0][0]])
    for name, _ in OPTIONS:
        if not runs[name]:
            print(f"| {name} | not installed | |")
            continue
        seconds = min(runs[name])
        print(f"| {name} | {seconds:.2f} | {seconds / reference:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
