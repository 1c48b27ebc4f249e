"""Load manifest files into validated ``Resource`` values, or report every problem at once.

Steps per document: read YAML with line numbers (``yaml_source``), check the envelope
(apiVersion, kind), interpolate ``${env:...}``/``${secret:...}``/``${var:...}`` inside spec
(``interpolate``), validate against the kind's JSON Schema (``schema``). Across documents: refuse
two objects with the same kind and name, and names that reference no document (``references``).
Problems from every file are collected and raised together, sorted by file and line, so one
``validate`` run shows everything to fix.

With an ``Environment`` (var files), a name prefix is applied last, to every object's name and to
every by-name reference (``references``), so the engine plans ``stg-billing`` without knowing
about environments. The checks above run on the manifest names, which is what the messages quote
and the user edits; a prefix added to every name alike cannot create or hide a clash.

Files are bounded before YAML sees them (size, binary content) and ``yaml_source`` bounds what is
inside; together they turn hostile or accidental inputs into one located problem, not a hang.
A set of inputs without a single document is refused: validating nothing would pass a typo'd path.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.errors import ManifestErrors, ManifestProblem
from reconciler.manifests.cross_rules import cross_document_problems
from reconciler.manifests.discovery import MAX_FILE_BYTES, canaries_first, in_order, manifest_files, read_manifest
from reconciler.manifests.environment import Environment
from reconciler.manifests.files import FileRefused, FileTooLarge, NotText, read_text
from reconciler.manifests.interpolate import Interpolation, interpolate
from reconciler.manifests.project import Project
from reconciler.manifests.references import check_references, references
from reconciler.manifests.schema import document_warnings, hatch_listed, lift_passthrough, validate_document
from reconciler.manifests.yaml_source import YamlDocument, read_yaml
from reconciler.model import (
    API_VERSION,
    KINDS,
    UNPRINTABLE,
    JsonPath,
    Resource,
    SourceMap,
    copy_json,
    format_path,
)
from reconciler.redact import known, mask_text, remember

if TYPE_CHECKING:
    from reconciler.manifests.parse_ahead import ParseAhead

__all__ = ["FileLoad", "load_alone", "load_resources", "manifest_files"]

def load_resources(
    paths: Sequence[str | Path],
    environ: Mapping[str, str],
    *,
    environment: Environment | None = None,
    project: Project | None = None,
    seen: Callable[[Resource], None] | None = None,
    ahead: ParseAhead | None = None,
) -> list[Resource]:
    """Every resource of the given files and directories, in a stable order.

    ``environment`` (from ``load_environment``) supplies ``${var:...}`` values and a name prefix;
    without it ``${var:...}`` is an error. ``project`` supplies the ``passthrough:`` fields, sent
    unchecked with a warning. Raises ``ManifestErrors`` with all problems when any document is
    invalid. ``seen`` is called with each valid resource as soon as it is loaded (manifest names, no
    prefix), so reading the account can start before the last file is read. ``ahead``, started
    on the same paths, supplies the files, each loaded in a child process (``parse_ahead``).
    """
    loader = _Loader(environ, environment, project or Project(), seen=seen)
    if ahead is not None:
        loader.problems.extend(ahead.problems)
        for position, file, loaded in ahead.results():
            if loaded is None:  # the child could not load it, or did not get to it
                loader.position = position
                loader.load_file(file, read_manifest(file))
            else:
                loader.take(loaded)
    else:
        files = manifest_files(paths, loader.problems)
        for position, file, read in canaries_first(files) if seen is not None else in_order(files):
            loader.position = position
            loader.load_file(file, read if read is not None else read_manifest(file))
    loader.finish()
    if not loader.documents:
        # Empty files are skipped among others (a placeholder, a commented-out object), but a run that
        # found nothing at all is a mistake the user wants to hear about.
        loader.problems.extend(_problem(file, 1, f"no documents: {why}") for file, why in loader.empty)
    loader.problems.extend(check_references(loader.resources, loader.defined))
    loader.problems.extend(cross_document_problems(loader.resources))
    loader.problems.extend(_previous_name_problems(loader.resources))
    if loader.problems:
        problems = [_one_line(p) for p in loader.problems]
        raise ManifestErrors(sorted(problems, key=lambda p: (p.file, p.line, p.path, p.message)))
    if environment is not None and environment.name_prefix:
        return [_prefixed(resource, environment) for resource in loader.resources]
    return loader.resources


@dataclass(frozen=True)
class FileLoad:
    """What loading one file found, on its own: what ``parse_ahead``'s child sends for each file."""

    resources: list[Resource]
    positions: list[tuple[int, int]]
    definitions: dict[tuple[str, str], list[tuple[tuple[int, int], str]]]
    problems: list[ManifestProblem]
    documents: int
    empty: list[tuple[str, str]]
    secrets: frozenset[str]
    """Interpolated secrets, those of documents with problems too: every message must mask them."""


def load_alone(file: str, read: str | FileRefused, position: int, environ: Mapping[str, str],
               environment: Environment | None, project: Project) -> FileLoad:
    """One file (its text, or why it cannot be read) loaded by a loader of its own; ``_Loader.take``
    adds it to the others."""
    loader = _Loader(environ, environment, project, position=position)
    before = known()
    loader.load_file(file, read)
    return FileLoad(loader.resources, loader._positions, loader._definitions, loader.problems, loader.documents,
                    loader.empty, known() - before)


def _previous_name_problems(resources: Sequence[Resource]) -> list[ManifestProblem]:
    """A previous name may not be a name in use now, nor the previous name of two objects."""
    current = {r.key for r in resources}
    claimed: dict[tuple[str, str], str] = {}
    problems = []
    for resource in resources:
        for index, old in enumerate(resource.previous_names):
            path = ("previous_names", index)
            line = resource.source.line_of(path)
            if (resource.kind, old) in current:
                what = "its own name" if old == resource.name else f"the name of another {resource.kind}"
                problems.append(_problem(resource.file, line, f"{old!r} is {what}; a previous name must be "
                                         "free now", resource.kind, resource.name, format_path(path)))
            elif (resource.kind, old) in claimed:
                problems.append(_problem(resource.file, line, f"{old!r} is also a previous name of "
                                         f"{resource.kind}/{claimed[(resource.kind, old)]}", resource.kind,
                                         resource.name, format_path(path)))
            else:
                claimed[(resource.kind, old)] = resource.name
    return problems


def _prefixed(resource: Resource, environment: Environment) -> Resource:
    """The resource under its live name, every by-name reference in spec and template renamed alike.

    The template's reference paths are those of the spec: a reference spelled ``${env:...}`` gets
    the prefix in front of the reference, which interpolates to the same prefixed name.
    """
    spec = copy_json(dict(resource.spec))
    template = copy_json(dict(resource.template))
    for ref in references(resource.kind, resource.spec):
        for target in (spec, template):
            _rename(target, ref.path, environment)
    previous = tuple(environment.live_name(name) for name in resource.previous_names)
    return replace(resource, name=environment.live_name(resource.name), spec=spec, template=template,
                   previous_names=previous)


def _rename(value: Any, path: JsonPath, environment: Environment) -> None:
    """Prefix the string at ``path`` in place; a path the value does not have is left alone."""
    *parents, last = path
    try:
        for part in parents:
            value = value[part]
        if isinstance(value[last], str):
            value[last] = environment.live_name(value[last])
    except (KeyError, IndexError, TypeError):
        return


def _masked(problem: ManifestProblem, secrets: Iterable[str]) -> ManifestProblem:
    """A schema message may quote the invalid value; when that value holds a secret, hide it."""
    message = mask_text(problem.message, secrets)
    return problem if message == problem.message else replace(problem, message=message)


def _one_line(problem: ManifestProblem) -> ManifestProblem:
    """Escape control characters (a name with a newline, a key with a tab): one problem, one line."""

    def escape(text: str) -> str:
        return UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], text)

    return replace(
        problem,
        file=escape(problem.file),
        message=escape(problem.message),
        name=None if problem.name is None else escape(problem.name),
        kind=None if problem.kind is None else escape(problem.kind),
        path=escape(problem.path),
    )


def _document_lines(file: str, index: int) -> dict[JsonPath, int]:
    """The line map of a file's ``index``-th document, read again (empty if the file changed since)."""
    try:
        documents = read_yaml(read_text(file, MAX_FILE_BYTES)).documents
    except FileRefused:
        return {}
    return documents[index].lines if index < len(documents) else {}


def _problem(
    file: str, line: int, message: str, kind: str | None = None, name: str | None = None, path: str = "$"
) -> ManifestProblem:
    return ManifestProblem(file=file, line=line, message=message, kind=kind, name=name, path=path)


@dataclass
class _Loader:
    environ: Mapping[str, str]
    environment: Environment | None = None
    project: Project = field(default_factory=Project)
    seen: Callable[[Resource], None] | None = None
    position: int = 0  # of the file being loaded, among all files in order
    resources: list[Resource] = field(default_factory=list)
    _positions: list[tuple[int, int]] = field(default_factory=list)  # (file position, line) of each resource
    _definitions: dict[tuple[str, str], list[tuple[tuple[int, int], str]]] = field(default_factory=dict)
    problems: list[ManifestProblem] = field(default_factory=list)
    defined: dict[tuple[str, str], str] = field(default_factory=dict)
    documents: int = 0
    empty: list[tuple[str, str]] = field(default_factory=list)

    def load_file(self, file: str, read: str | FileRefused) -> None:
        """One file, given as its text or the reason it could not be read (``read_manifest``)."""
        try:
            if isinstance(read, FileRefused):
                raise read
            text = read
        except FileTooLarge as err:
            message = (
                f"file is larger than {MAX_FILE_BYTES // 2**20} MiB ({err.size} bytes; "
                "the limit is passed on this line); split it up"
            )
            self.problems.append(_problem(file, err.line, message))
            return
        except NotText as err:
            self.problems.append(_problem(file, err.line, str(err)))
            return
        except FileRefused as err:
            self.problems.append(_problem(file, 0, f"cannot read: {err}"))
            return
        parsed = read_yaml(text)
        for issue in parsed.issues:
            self.problems.append(_problem(file, issue.line, issue.message, path=format_path(issue.path)))
        self.documents += len(parsed.documents)
        if not parsed.documents and not parsed.issues:
            why = "the file is empty" if not text.strip() else "the file holds only comments and empty documents"
            self.empty.append((file, why))
        for index, document in enumerate(parsed.documents):
            self.load_document(file, document, index)

    def load_document(self, file: str, document: YamlDocument, index: int = 0) -> None:
        value = document.value
        source = SourceMap(file=file, lines=document.lines)
        if not isinstance(value, dict):
            if document.issues:
                self._add_issues(file, document, None, None)
                return
            what = "a list" if isinstance(value, list) else f"the value {value!r}"
            message = f"a manifest must be a mapping with apiVersion, kind, name and spec, not {what}"
            self.problems.append(_problem(file, document.line, message))
            return
        kind = value.get("kind") if isinstance(value.get("kind"), str) else None
        name = value.get("name") if isinstance(value.get("name"), str) else None
        if document.issues:
            self._add_issues(file, document, kind, name)
            return
        envelope = self._envelope_problem(value)
        if envelope is not None:
            self.problems.append(
                _problem(file, source.line_of(envelope[0]), envelope[1], kind, name, format_path(envelope[0]))
            )
            return
        assert kind is not None
        if name is not None:
            self._check_unique(kind, name, f"{file}:{document.line}")
        spec = value.get("spec")
        env = self.environment
        if document.has_interpolation:
            result = interpolate(
                spec,
                self.environ,
                ("spec",),
                variables=None if env is None else env.variables,
                var_files=() if env is None else env.files,
            )
        else:  # the reader saw no '${' in any string: what interpolate would give, without the walk
            result = Interpolation(value=spec, template=spec)
        remember(result.secrets)  # from now on, every message of this command masks them
        for path, message in result.problems:
            self.problems.append(_problem(file, source.line_of(path), message, kind, name, format_path(path)))
        # A missing spec stays missing, so the schema says it is required rather than "null".
        with_spec = {**value, "spec": result.value} if "spec" in value else value
        # Fields the project lists under passthrough go under x-passthrough, which the schema allows.
        listed = self._listed(kind, name, result.value)
        interpolated, moved = hatch_listed(with_spec, list(listed))
        where = {path: listed[pattern] for path, pattern in moved.items()}
        passthrough = document.has_passthrough or bool(moved)  # else no x-passthrough key to find or lift
        # A value whose reference failed still holds the raw `${...}`: judging it again adds only noise.
        unresolved = {format_path(path) for path, _ in result.problems}
        schema_problems = [
            _masked(p, result.secrets)
            for p in validate_document(interpolated, kind, source, name, passthrough)
            if p.path not in unresolved
        ]
        self.problems.extend(schema_problems)
        if result.problems or schema_problems or name is None or not isinstance(spec, dict):
            return
        self.resources.append(
            Resource(
                kind=kind,
                name=name,
                spec=lift_passthrough(result.value) if passthrough else result.value,
                file=file,
                line=document.line,
                source=source.deferred(functools.partial(_document_lines, file, index)),
                template=result.template,
                secrets=frozenset(result.secrets),
                previous_names=tuple(value.get("previous_names") or ()),
                warnings=tuple(
                    str(_masked(w, result.secrets))
                    for w in document_warnings(interpolated, kind, source, name, where, passthrough)
                ),
            )
        )
        self._positions.append((self.position, document.line))
        if self.seen is not None:
            self.seen(self.resources[-1])

    def _listed(self, kind: str, name: str | None, spec: Any) -> dict[JsonPath, str]:
        """The project's passthrough fields for this document: paths inside spec, and where each is listed.

        A rule matches the manifest's ``Kind/name`` or its live one (with the environment's prefix);
        a CanaryDeploy's versions also take the fields listed for its assistant.
        """
        if name is None or not self.project.passthrough:
            return {}
        listed = self.project.passthrough_fields(*self._addresses(kind, name))
        assistant = spec.get("assistant") if kind == "CanaryDeploy" and isinstance(spec, dict) else None
        if isinstance(assistant, str):
            for path, where in self.project.passthrough_fields(*self._addresses("Assistant", assistant)).items():
                listed.setdefault(("versions", "*", *path), where)
        return listed

    def _addresses(self, kind: str, name: str) -> list[str]:
        live = self.environment.live_name(name) if self.environment is not None else name
        return list(dict.fromkeys([f"{kind}/{name}", f"{kind}/{live}"]))

    def _add_issues(self, file: str, document: YamlDocument, kind: str | None, name: str | None) -> None:
        for issue in document.issues:
            self.problems.append(
                _problem(file, issue.line, issue.message, kind, name, format_path(issue.path))
            )

    @staticmethod
    def _envelope_problem(value: Mapping[str, Any]) -> tuple[tuple[str, ...], str] | None:
        """The first envelope fault that makes the rest of the document meaningless to check."""
        for key in ("apiVersion", "kind", "name"):
            if isinstance(value.get(key), str) and "${" in value[key]:
                return (key,), f"{key} cannot use ${{...}}: interpolation happens only inside spec"
        version = value.get("apiVersion")
        if version is None:
            return (), f"apiVersion is missing; expected {API_VERSION!r}"
        if version != API_VERSION:
            return ("apiVersion",), f"unsupported apiVersion {version!r}; expected {API_VERSION!r}"
        kind = value.get("kind")
        if kind is None:
            return (), f"kind is missing; expected one of {', '.join(KINDS)}"
        if kind not in KINDS:
            return ("kind",), f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}"
        return None

    def _check_unique(self, kind: str, name: str, location: str) -> None:
        """Note where an object is defined; ``finish`` refuses a second definition."""
        line = int(location.rpartition(":")[2])
        self._definitions.setdefault((kind, name), []).append(((self.position, line), location))

    def take(self, loaded: FileLoad) -> None:
        """Add a file loaded elsewhere (``load_alone``), as if this loader had loaded it."""
        remember(loaded.secrets)
        for (kind, name), places in loaded.definitions.items():
            self._definitions.setdefault((kind, name), []).extend(places)
        self.problems.extend(loaded.problems)
        self.documents += loaded.documents
        self.empty.extend(loaded.empty)
        for resource, position in zip(loaded.resources, loaded.positions, strict=True):
            self.resources.append(resource)
            self._positions.append(position)
            if self.seen is not None:
                self.seen(resource)

    def finish(self) -> None:
        """Put resources back in file order, and name both places of an object defined twice.

        Files may be loaded out of order (``canaries_first``, ``parse_ahead``): what is reported does not show it.
        """
        order = sorted(range(len(self.resources)), key=lambda i: self._positions[i])
        self.resources = [self.resources[i] for i in order]
        for (kind, name), places in self._definitions.items():
            places.sort()
            earlier = self.defined[(kind, name)] = places[0][1]
            for _, location in places[1:]:
                file, _, line = location.rpartition(":")
                message = f"{kind}/{name} is defined twice: here and at {earlier}"
                self.problems.append(_problem(file, int(line), message, kind, name))
