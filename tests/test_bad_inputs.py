"""Hostile and accidental inputs through the real console script, under hard memory and time bounds.

Every case must end in exit 1 with exactly the expected problem lines, print nothing on stdout and
send no request to the emulator. The large inputs are generated into tmp_path (committing megabytes
would help nobody). ``RLIMIT_AS`` and ``timeout`` are bounds that turn a blow-up or a hang into a
failure; no test asserts a duration.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from reconciler.manifests.loader import MAX_FILE_BYTES
from reconciler.manifests.yaml_source import MAX_DOCUMENTS, MAX_STRING, MAX_VALUES
from tests.helpers import API_KEY
from tests.test_loader import BAD_CASES, DATA, expected_lines

SCRIPT = Path(sys.executable).parent / "reconciler"
MEMORY_BYTES = 1 << 30
TIMEOUT_SECONDS = 60

ASSISTANT = "apiVersion: reconciler/v1\nkind: Assistant\nname: {name}\nspec:\n  instructions: {instructions}\n"


def _bound_memory() -> None:
    """Runs in the child before exec: past 1 GiB of address space, allocation fails instead of swapping."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


def validate(
    paths: list[str], cwd: Path, emulator: Any, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``reconciler validate PATHS`` in ``cwd`` as a separate, bounded process pointed at the emulator."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TELNYX_")}
    full_env.update({"NO_COLOR": "1", "TELNYX_BASE_URL": emulator.base_url, "TELNYX_API_KEY": API_KEY})
    full_env.update(env or {})
    return subprocess.run(
        [str(SCRIPT), "validate", *paths],
        cwd=cwd,
        env=full_env,
        preexec_fn=_bound_memory,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def refused(result: subprocess.CompletedProcess[str], emulator: Any) -> list[str]:
    """The problem lines of a run that must fail without output or requests."""
    assert result.returncode == 1, result.stderr[-2000:]
    assert result.stdout == ""
    assert emulator.stats()["total"] == 0
    return result.stderr.splitlines()


@pytest.mark.parametrize("case", BAD_CASES)
def test_each_committed_bad_case_is_refused_within_bounds(case: str, emulator: Any) -> None:
    result = validate([case], DATA / "bad", emulator, env={"PRESENT": "1"})
    assert refused(result, emulator) == expected_lines(DATA / "bad" / case)


def test_every_bad_case_at_once_within_bounds(emulator: Any) -> None:
    """All broken files in one run: each reports its own lines, nothing more, nothing crosses files."""
    result = validate(BAD_CASES, DATA / "bad", emulator, env={"PRESENT": "1"})
    expected = sorted(line for case in BAD_CASES for line in expected_lines(DATA / "bad" / case))
    assert sorted(refused(result, emulator)) == expected


class TestLargeInputs:
    def test_a_20_mib_file_is_refused_unparsed_at_the_line_where_10_mib_is_passed(
        self, tmp_path: Path, emulator: Any
    ) -> None:
        line = b"# " + b"x" * 1021 + b"\n"  # 1 KiB per line: the 10 MiB limit ends exactly after line 10240
        (tmp_path / "huge.yaml").write_bytes(line * (20 * 1024))
        assert refused(validate(["huge.yaml"], tmp_path, emulator), emulator) == [
            "huge.yaml:10241: ?/?: $: file is larger than 10 MiB (20971520 bytes; "
            "the limit is passed on this line); split it up"
        ]

    def test_a_file_of_exactly_10_mib_is_read(self, tmp_path: Path, emulator: Any) -> None:
        head = ASSISTANT.format(name="at-limit", instructions="Help callers.").encode()
        padding = MAX_FILE_BYTES - len(head)
        comment = b"# " + b"x" * 1021 + b"\n"
        body = head + comment * (padding // len(comment))
        body += b"#" * (MAX_FILE_BYTES - len(body) - 1) + b"\n"
        assert len(body) == MAX_FILE_BYTES
        (tmp_path / "edge.yaml").write_bytes(body)
        result = validate(["edge.yaml"], tmp_path, emulator)
        assert (result.returncode, result.stdout, result.stderr) == (0, "1 manifest valid.\n", "")

    def test_a_string_of_5_million_characters_is_refused_at_its_field(self, tmp_path: Path, emulator: Any) -> None:
        (tmp_path / "long.yaml").write_text(ASSISTANT.format(name="long", instructions="x" * 5_000_000))
        assert refused(validate(["long.yaml"], tmp_path, emulator), emulator) == [
            "long.yaml:5: Assistant/long: spec.instructions: a string of 5000000 characters; the limit is 1000000"
        ]

    def test_a_string_at_the_limit_is_accepted(self, tmp_path: Path, emulator: Any) -> None:
        (tmp_path / "edge.yaml").write_text(ASSISTANT.format(name="edge", instructions="x" * MAX_STRING))
        result = validate(["edge.yaml"], tmp_path, emulator)
        assert (result.returncode, result.stdout, result.stderr) == (0, "1 manifest valid.\n", "")

    def test_a_block_string_of_5_mb_is_refused_at_its_field(self, tmp_path: Path, emulator: Any) -> None:
        text = ASSISTANT.format(name="block", instructions="|") + ("    " + "y" * 99 + "\n") * 50_000
        (tmp_path / "block.yaml").write_text(text)
        assert refused(validate(["block.yaml"], tmp_path, emulator), emulator) == [
            "block.yaml:5: Assistant/block: spec.instructions: a string of 5000000 characters; the limit is 1000000"
        ]

    def test_100000_documents_stop_at_the_first_one_over_the_limit(self, tmp_path: Path, emulator: Any) -> None:
        """Each document is six lines, so document 1001 starts on line 6001; the first 1000 are valid."""
        docs = "".join("---\n" + ASSISTANT.format(name=f"a{i}", instructions="Hi.") for i in range(100_000))
        (tmp_path / "many.yaml").write_text(docs)
        assert refused(validate(["many.yaml"], tmp_path, emulator), emulator) == [
            f"many.yaml:6001: ?/?: $: more than {MAX_DOCUMENTS} documents in one file; split it up"
        ]

    def test_the_most_documents_a_file_may_hold_are_read(self, tmp_path: Path, emulator: Any) -> None:
        docs = "".join("---\n" + ASSISTANT.format(name=f"a{i}", instructions="Hi.") for i in range(MAX_DOCUMENTS))
        (tmp_path / "edge.yaml").write_text(docs)
        result = validate(["edge.yaml"], tmp_path, emulator)
        assert (result.returncode, result.stdout, result.stderr) == (0, "1000 manifests valid.\n", "")

    def test_a_list_of_a_million_items_is_refused_before_it_is_built(self, tmp_path: Path, emulator: Any) -> None:
        """Nine megabytes of ``- a`` once became a gigabyte of YAML nodes; now composing stops early."""
        text = ASSISTANT.format(name="tagged", instructions="Hi.") + "  tags:\n" + "    - a\n" * 1_000_000
        (tmp_path / "tags.yaml").write_text(text)
        assert refused(validate(["tags.yaml"], tmp_path, emulator), emulator) == [
            f"tags.yaml:1: ?/?: $: document has more than {MAX_VALUES} values; split it into smaller documents"
        ]

    def test_interpolation_cannot_multiply_a_variable_past_the_string_limit(
        self, tmp_path: Path, emulator: Any
    ) -> None:
        (tmp_path / "bomb.yaml").write_text(ASSISTANT.format(name="bomb", instructions="${env:BIG}" * 20))
        result = validate(["bomb.yaml"], tmp_path, emulator, env={"BIG": "x" * 100_000})
        assert refused(result, emulator) == [
            "bomb.yaml:5: Assistant/bomb: spec.instructions: "
            "longer than 1000000 characters once variables are filled in"
        ]

    def test_utf16_text_is_reported_as_binary(self, tmp_path: Path, emulator: Any) -> None:
        text = ASSISTANT.format(name="wide", instructions="Hi.")
        (tmp_path / "wide.yaml").write_bytes(text.encode("utf-16"))
        assert refused(validate(["wide.yaml"], tmp_path, emulator), emulator) == [
            "wide.yaml:1: ?/?: $: binary data (a NUL byte), not YAML text"
        ]


class TestNothingToValidate:
    @pytest.mark.parametrize(
        ("content", "why"),
        [
            ("", "the file is empty"),
            ("\n  \n\n", "the file is empty"),
            ("# a comment\n# and another\n", "the file holds only comments and empty documents"),
            ("---\n---\n...\n", "the file holds only comments and empty documents"),
            ("--- ~\n--- null\n", "the file holds only comments and empty documents"),
        ],
        ids=["nothing", "blank", "comments", "separators", "nulls"],
    )
    def test_a_lone_file_without_documents_is_refused(
        self, content: str, why: str, tmp_path: Path, emulator: Any
    ) -> None:
        (tmp_path / "empty.yaml").write_text(content)
        assert refused(validate(["empty.yaml"], tmp_path, emulator), emulator) == [
            f"empty.yaml:1: ?/?: $: no documents: {why}"
        ]

    def test_a_directory_of_empty_files_names_each(self, tmp_path: Path, emulator: Any) -> None:
        (tmp_path / "m").mkdir()
        (tmp_path / "m" / "a.yaml").write_text("")
        (tmp_path / "m" / "b.yml").write_text("# later\n")
        assert refused(validate(["m"], tmp_path, emulator), emulator) == [
            "m/a.yaml:1: ?/?: $: no documents: the file is empty",
            "m/b.yml:1: ?/?: $: no documents: the file holds only comments and empty documents",
        ]

    def test_an_empty_file_next_to_a_manifest_is_skipped(self, tmp_path: Path, emulator: Any) -> None:
        (tmp_path / "empty.yaml").write_text("# retired, kept for history\n")
        (tmp_path / "one.yaml").write_text(ASSISTANT.format(name="one", instructions="Hi."))
        result = validate(["empty.yaml", "one.yaml"], tmp_path, emulator)
        assert (result.returncode, result.stdout, result.stderr) == (0, "1 manifest valid.\n", "")


def test_duplicate_names_across_files_name_both_places(tmp_path: Path, emulator: Any) -> None:
    (tmp_path / "a.yaml").write_text(ASSISTANT.format(name="twin", instructions="A."))
    moved = "# moved here, but not removed there\n" + ASSISTANT.format(name="twin", instructions="B.")
    (tmp_path / "b.yaml").write_text(moved)
    assert refused(validate(["a.yaml", "b.yaml"], tmp_path, emulator), emulator) == [
        "b.yaml:2: Assistant/twin: $: Assistant/twin is defined twice: here and at a.yaml:1"
    ]


def test_a_reference_into_another_files_broken_document_is_not_reported_twice(
    tmp_path: Path, emulator: Any
) -> None:
    """The tool exists but is invalid: its own problem is enough; the reference is not also 'unknown'."""
    (tmp_path / "tool.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Tool\nname: lookup\nspec:\n  type: webhook\n"
    )
    (tmp_path / "bot.yaml").write_text(
        ASSISTANT.format(name="bot", instructions="Hi.") + "  shared_tools: [lookup, lookpu]\n"
    )
    assert refused(validate(["tool.yaml", "bot.yaml"], tmp_path, emulator), emulator) == [
        "bot.yaml:6: Assistant/bot: spec.shared_tools[1]: no Tool named 'lookpu' in the manifests "
        "(did you mean 'lookup'?)",
        "tool.yaml:4: Tool/lookup: spec: 'webhook' is a required property",
    ]
