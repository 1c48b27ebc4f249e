"""Loading manifests: files, directories, documents, lines, interpolation and every kind of refusal."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.errors import ManifestErrors
from reconciler.manifests.interpolate import interpolate
from reconciler.manifests.loader import load_resources
from reconciler.model import Resource

DATA = Path(__file__).parent / "data"
BAD_CASES = sorted(p.name for p in (DATA / "bad").glob("*.yaml"))

ASSISTANT = """\
apiVersion: reconciler/v1
kind: Assistant
name: {name}
spec:
  instructions: {instructions}
"""


def write(directory: Path, relative: str, text: str | bytes) -> Path:
    path = directory / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def problems(paths: list[str], environ: dict[str, str] | None = None) -> list[str]:
    """The problem lines of a load that must fail."""
    with pytest.raises(ManifestErrors) as caught:
        load_resources(paths, environ or {})
    return [str(p) for p in caught.value.problems]


def only(resources: list[Resource]) -> Resource:
    assert len(resources) == 1
    return resources[0]


class TestFilesAndDocuments:
    def test_multi_document_file_keeps_each_documents_lines(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Each `---` document is a resource; lines count from the file's top; empty documents are skipped."""
        write(
            tmp_path,
            "team.yaml",
            "# two assistants\n"
            + ASSISTANT.format(name="first", instructions="One.")
            + "---\n"
            + "---\n# nothing here\n---\n"
            + ASSISTANT.format(name="second", instructions="Two.")
            + "  tools:\n    - type: hangup\n      hangup: {}\n    - type: function\n      function:\n"
            + "        name: note\n",
        )
        monkeypatch.chdir(tmp_path)
        first, second = load_resources(["team.yaml"], {})
        assert (first.name, first.file, first.line) == ("first", "team.yaml", 2)
        assert (second.name, second.line) == ("second", 11)
        assert second.line_of(("instructions",)) == 15
        assert second.line_of(("tools", 1)) == 19
        assert second.line_of(("tools", 1, "function", "name")) == 21
        assert second.source.lines[("spec", "tools", 0, "type")] == 17
        assert second.line_of(("tools", 1, "function", "parameters")) == 20  # nearest ancestor

    def test_lines_are_read_again_from_the_file_when_asked_after_loading(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Loaded resources hold no line maps (memory); a line asked later comes from the file again,
        and from the document's own line if the file has gone in the meantime."""
        write(tmp_path, "a.yaml", ASSISTANT.format(name="a", instructions="A.") + "  model: m\n")
        write(tmp_path, "b.yaml", "# b\n" + ASSISTANT.format(name="b", instructions="B.") + "  model: m\n")
        monkeypatch.chdir(tmp_path)
        a, b = load_resources(["a.yaml", "b.yaml"], {})
        assert a.line_of(("model",)) == 6
        (tmp_path / "b.yaml").unlink()
        assert b.line_of(("model",)) == b.line == 2
        assert a.line_of(("instructions",)) == 5

    def test_keys_repeated_across_documents_are_one_string(self, tmp_path: Path) -> None:
        """Thousands of manifests repeat the same few dozen keys; each is kept once."""
        write(tmp_path, "a.yaml", ASSISTANT.format(name="a", instructions="A."))
        write(tmp_path, "b.yaml", ASSISTANT.format(name="b", instructions="B."))
        a, b = load_resources([tmp_path], {})
        (key_a,), (key_b,) = a.spec, b.spec
        assert key_a == key_b == "instructions"
        assert key_a is key_b

    def test_directory_is_read_recursively_in_sorted_order(self, tmp_path: Path) -> None:
        """`*.yaml` and `*.yml` under a directory, sorted by path; hidden entries and other files ignored."""
        write(tmp_path, "m/b.yaml", ASSISTANT.format(name="b", instructions="B."))
        write(tmp_path, "m/a/z.yml", ASSISTANT.format(name="z", instructions="Z."))
        write(tmp_path, "m/a.yaml", ASSISTANT.format(name="a", instructions="A."))
        write(tmp_path, "m/notes.txt", "not a manifest")
        write(tmp_path, "m/.hidden/x.yaml", "broken: [")
        write(tmp_path, "m/.draft.yaml", "broken: [")
        directory = str(tmp_path / "m")
        loaded = load_resources([directory], {})
        assert [(r.name, os.path.relpath(r.file, directory)) for r in loaded] == [
            ("z", "a/z.yml"),
            ("a", "a.yaml"),
            ("b", "b.yaml"),
        ]

    def test_paths_stay_as_given_and_a_file_reached_twice_is_read_once(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Relative paths stay relative; naming a directory and a file inside it does not duplicate it."""
        write(tmp_path, "manifests/a.yaml", ASSISTANT.format(name="a", instructions="A."))
        monkeypatch.chdir(tmp_path)
        loaded = load_resources(["manifests/", "manifests/a.yaml"], {})
        assert [r.file for r in loaded] == ["manifests/a.yaml"]

    def test_missing_path_and_empty_directory_are_problems(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (tmp_path / "empty").mkdir()
        monkeypatch.chdir(tmp_path)
        assert problems(["nowhere.yaml", "empty"]) == [
            "empty:0: ?/?: $: no *.yaml or *.yml files in this directory",
            "nowhere.yaml:0: ?/?: $: no such file or directory",
        ]

    def test_a_utf8_byte_order_mark_is_accepted_and_shifts_no_line(self, tmp_path: Path) -> None:
        """Editors on Windows save with a BOM; it is not content, so the file loads like any other."""
        path = write(tmp_path, "bom.yaml", b"\xef\xbb\xbf" + ASSISTANT.format(name="bom", instructions="Hi.").encode())
        resource = only(load_resources([str(path)], {}))
        assert (resource.name, resource.line, resource.line_of(("instructions",))) == ("bom", 1, 5)

    def test_empty_files_are_skipped_among_others_and_refused_alone(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Validating nothing at all is a mistake (a wrong path, an emptied file); one placeholder is not."""
        write(tmp_path, "empty.yaml", "")
        write(tmp_path, "retired.yaml", "# kept for history\n---\n")
        write(tmp_path, "one.yaml", ASSISTANT.format(name="one", instructions="Hi."))
        monkeypatch.chdir(tmp_path)
        assert [r.name for r in load_resources(["empty.yaml", "retired.yaml", "one.yaml"], {})] == ["one"]
        assert problems(["empty.yaml", "retired.yaml"]) == [
            "empty.yaml:1: ?/?: $: no documents: the file is empty",
            "retired.yaml:1: ?/?: $: no documents: the file holds only comments and empty documents",
        ]

    def test_merge_keys_are_followed_and_explicit_keys_win(self, tmp_path: Path) -> None:
        """`<<: *anchor` works as in YAML 1.1; the merged keys keep the anchor's lines."""
        path = write(
            tmp_path,
            "merge.yaml",
            "apiVersion: reconciler/v1\n"
            "kind: Assistant\n"
            "name: merged\n"
            "spec:\n"
            "  instructions: Hi.\n"
            "  dynamic_variables: &defaults\n"
            "    company: Acme\n"
            "    queue: general\n"
            "  telephony_settings:\n"
            "    time_limit_secs: 600\n"
            "  voice_settings:\n"
            "    <<: {voice: Telnyx.KokoroTTS.af_heart, voice_speed: 1.2}\n"
            "    voice_speed: 0.9\n",
        )
        resource = only(load_resources([str(path)], {}))
        assert resource.spec["voice_settings"] == {"voice": "Telnyx.KokoroTTS.af_heart", "voice_speed": 0.9}
        assert resource.line_of(("voice_settings", "voice_speed")) == 13
        assert resource.line_of(("voice_settings", "voice")) == 12

    def test_yaml_scalars_become_json_values(self, tmp_path: Path) -> None:
        """Keys keep their source text; timestamps stay strings; numbers and booleans are typed."""
        path = write(
            tmp_path,
            "scalars.yaml",
            ASSISTANT.format(name="s", instructions="Hi.")
            + "  dynamic_variables:\n    on: 2024-01-01\n    200: yes\n    ratio: 0.5\n    none: ~\n",
        )
        resource = only(load_resources([str(path)], {}))
        assert resource.spec["dynamic_variables"] == {
            "on": "2024-01-01",
            "200": True,
            "ratio": 0.5,
            "none": None,
        }


class TestInterpolation:
    def test_env_and_secret_whole_embedded_and_escaped(self, tmp_path: Path) -> None:
        """Values replaced in place, `$${` is a literal `${`, secrets collected, template keeps the text."""
        path = write(
            tmp_path,
            "env.yaml",
            ASSISTANT.format(
                name="env", instructions="'Help ${env:COMPANY} callers; write $${env:X} literally.'"
            )
            + "  model: ${env:MODEL}\n"
            + "  tools:\n    - type: webhook\n      webhook:\n"
            + "        name: lookup\n        description: Look up.\n"
            + "        url: https://${env:HOST}/orders\n"
            + "        headers:\n          - {name: Authorization, value: 'Bearer ${secret:TOKEN}'}\n",
        )
        environ = {"COMPANY": "Acme", "MODEL": "openai/gpt-4o", "HOST": "api.example.com", "TOKEN": "s3cr3t"}
        resource = only(load_resources([str(path)], environ))
        assert resource.spec["instructions"] == "Help Acme callers; write ${env:X} literally."
        assert resource.spec["model"] == "openai/gpt-4o"
        webhook = resource.spec["tools"][0]["webhook"]
        assert webhook["url"] == "https://api.example.com/orders"
        assert webhook["headers"] == [{"name": "Authorization", "value": "Bearer s3cr3t"}]
        assert resource.secrets == frozenset({"s3cr3t"})
        assert resource.template["instructions"] == "Help ${env:COMPANY} callers; write $${env:X} literally."
        assert resource.template["tools"][0]["webhook"]["headers"][0]["value"] == "Bearer ${secret:TOKEN}"

    def test_missing_variable_names_file_line_object_and_field(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write(
            tmp_path,
            "voice.yaml",
            ASSISTANT.format(name="voiced", instructions="Hi.")
            + "  voice_settings:\n    voice: Telnyx.KokoroTTS.${env:VOICE}\n",
        )
        monkeypatch.chdir(tmp_path)
        assert problems(["voice.yaml"], {"OTHER": "x"}) == [
            "voice.yaml:7: Assistant/voiced: spec.voice_settings.voice: "
            "environment variable VOICE is not set (needed by '${env:VOICE}')"
        ]

    def test_a_failed_reference_is_reported_once(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The raw `${env:STT}` left in an enum field is not also reported as a bad enum value."""
        write(
            tmp_path,
            "stt.yaml",
            ASSISTANT.format(name="stt", instructions="Hi.") + "  transcription:\n    model: ${env:STT}\n",
        )
        monkeypatch.chdir(tmp_path)
        assert problems(["stt.yaml"]) == [
            "stt.yaml:7: Assistant/stt: spec.transcription.model: "
            "environment variable STT is not set (needed by '${env:STT}')"
        ]

    def test_an_empty_value_counts_as_set_and_is_not_a_secret(self, tmp_path: Path) -> None:
        path = write(tmp_path, "e.yaml", ASSISTANT.format(name="e", instructions="'Hi${secret:EMPTY}.'"))
        resource = only(load_resources([str(path)], {"EMPTY": ""}))
        assert (resource.spec["instructions"], resource.secrets) == ("Hi.", frozenset())

    def test_envelope_fields_are_not_interpolated(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The name is an identity: if the environment changed it, a plan would address another object."""
        write(tmp_path, "n.yaml", ASSISTANT.format(name="'${env:STAGE}-bot'", instructions="Hi."))
        monkeypatch.chdir(tmp_path)
        assert problems(["n.yaml"], {"STAGE": "prod"}) == [
            "n.yaml:3: Assistant/${env:STAGE}-bot: name: "
            "name cannot use ${...}: interpolation happens only inside spec"
        ]


def test_parts_without_references_are_shared_not_copied() -> None:
    """Value and template share every subtree interpolation leaves alone, and the input is untouched."""
    tools = [{"type": "hangup", "hangup": {}}, {"type": "webhook", "webhook": {"url": "https://${env:HOST}/x"}}]
    voice = {"voice": "Telnyx.KokoroTTS.af"}
    spec = {"instructions": "x" * 8000, "voice_settings": voice, "tools": tools}
    plain = interpolate({"instructions": "Hi.", "voice_settings": voice}, {})
    assert plain.value is plain.template
    assert plain.value["voice_settings"] is voice
    result = interpolate(spec, {"HOST": "h.example"})
    assert result.value["tools"][1]["webhook"]["url"] == "https://h.example/x"
    assert result.template["tools"][1]["webhook"]["url"] == "https://${env:HOST}/x"
    assert result.value is not spec and result.template is not result.value
    assert result.value["voice_settings"] is voice and result.template["voice_settings"] is voice
    assert result.value["tools"][0] is tools[0] and result.template["tools"][0] is tools[0]
    assert result.value["instructions"] is spec["instructions"]
    assert tools[1]["webhook"]["url"] == "https://${env:HOST}/x"


@given(st.lists(st.sampled_from(["$", "{", "}", "a", "env", ":", " "]), max_size=30).map("".join))
def test_escaping_every_dollar_brace_round_trips(text: str) -> None:
    """Whatever the text, writing each `${` as `$${` gives the text back unchanged and without problems."""
    result = interpolate({"x": text.replace("${", "$${")}, {})
    assert (result.value, result.problems) == ({"x": text}, [])


class TestProblems:
    def test_duplicate_kind_and_name_across_files_names_both(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write(tmp_path, "a.yaml", ASSISTANT.format(name="twin", instructions="A."))
        write(tmp_path, "b.yaml", "# again\n" + ASSISTANT.format(name="twin", instructions="B."))
        monkeypatch.chdir(tmp_path)
        assert problems(["a.yaml", "b.yaml"]) == [
            "b.yaml:2: Assistant/twin: $: Assistant/twin is defined twice: here and at a.yaml:1"
        ]

    def test_every_problem_of_every_file_is_reported_sorted(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Validation never stops at the first problem: files, documents and fields all report together."""
        write(tmp_path, "z.yaml", "key: [unclosed\n")
        write(
            tmp_path,
            "a.yaml",
            ASSISTANT.format(name="one", instructions="Hi.")
            + "  model: 4\n  greeting: ${env:GREETING}\n"
            + "---\n"
            + "apiVersion: reconciler/v1\nkind: Assistant\nname: two\n"
            + "spec:\n  tags: [ok, 3]\n  colour: blue\n",
        )
        monkeypatch.chdir(tmp_path)
        assert problems(["z.yaml", "a.yaml"]) == [
            "a.yaml:6: Assistant/one: spec.model: 4 is not of type 'string'",
            "a.yaml:7: Assistant/one: spec.greeting: environment variable GREETING is not set "
            "(needed by '${env:GREETING}')",
            "a.yaml:12: Assistant/two: spec: 'instructions' is a required property",
            "a.yaml:13: Assistant/two: spec.tags[1]: 3 is not of type 'string'",
            "a.yaml:14: Assistant/two: spec: unknown field 'colour'",
            "z.yaml:2: ?/?: $: invalid YAML: expected ',' or ']', but got '<stream end>' "
            "(while parsing a flow sequence on line 1)",
        ]

    def test_every_duplicate_key_is_reported(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        write(
            tmp_path,
            "d.yaml",
            ASSISTANT.format(name="d", instructions="Hi.")
            + "  tags: [a]\n  tags: [b]\n  model: x\n  model: y\n",
        )
        monkeypatch.chdir(tmp_path)
        assert problems(["d.yaml"]) == [
            "d.yaml:7: Assistant/d: spec: duplicate key 'tags' (first set on line 6)",
            "d.yaml:9: Assistant/d: spec: duplicate key 'model' (first set on line 8)",
        ]

    def test_self_referencing_alias_fails_fast(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        write(tmp_path, "loop.yaml", "spec: &loop\n  again: *loop\n")
        monkeypatch.chdir(tmp_path)
        assert problems(["loop.yaml"]) == [
            "loop.yaml:1: ?/?: $: nesting is deeper than 64 levels; does an alias contain itself?"
        ]

    def test_control_characters_in_keys_are_escaped_so_a_problem_stays_one_line(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write(tmp_path, "k.yaml", ASSISTANT.format(name="k", instructions="Hi.") + '  "voice\\nsettings": {}\n')
        monkeypatch.chdir(tmp_path)
        assert problems(["k.yaml"]) == [
            "k.yaml:6: Assistant/k: spec: unknown field 'voice\\nsettings' (did you mean 'voice_settings'?)"
        ]

    def test_unsupported_tags_are_refused(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        write(tmp_path, "t.yaml", ASSISTANT.format(name="t", instructions="!include prompt.md"))
        monkeypatch.chdir(tmp_path)
        assert problems(["t.yaml"]) == [
            "t.yaml:5: Assistant/t: spec.instructions: unsupported YAML tag !include"
        ]


def expected_lines(case: Path) -> list[str]:
    """The `# expect: ...` lines at the top of a broken fixture."""
    lines = []
    for raw in case.read_bytes().splitlines():
        match = re.match(rb"# expect: (.*)", raw)
        if match is None:
            break
        lines.append(match.group(1).decode("utf-8"))
    return lines


@pytest.mark.parametrize("case", BAD_CASES)
def test_broken_manifest_reports_exactly_what_its_comment_says(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file under tests/data/bad is refused with exactly the problems listed in its header."""
    expected = expected_lines(DATA / "bad" / case)
    assert expected, f"{case} has no '# expect:' header"
    monkeypatch.chdir(DATA / "bad")
    assert problems([case], {"PRESENT": "1"}) == expected


def test_there_are_enough_broken_cases() -> None:
    assert len(BAD_CASES) >= 70


def test_good_manifests_load_clean() -> None:
    """Every kind, every reference form and a raw id of each, across files: no complaints."""
    loaded = load_resources([str(DATA / "good")], {"ORDERS_TOKEN": "t0ken"})
    assert [r.address for r in loaded] == [
        "Assistant/billing",
        "CanaryDeploy/triage-canary",
        "Tool/lookup-order",
        "Tool/end-call",
        "McpServer/crm",
        "Assistant/support-triage",
    ]
