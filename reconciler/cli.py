"""The command line: options, exit codes and where output goes; the work happens elsewhere.

Exit codes (design.md section 2): 0 success; 1 error, invalid input or refusal;
2 ``plan --detailed-exitcode`` found changes.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler import __version__, planfile
from reconciler.api.client import TelnyxClient
from reconciler.config import DEFAULT_PARALLELISM, LOCAL_STATE, Connection, open_client
from reconciler.engine.apply import ApplyResult, Outcome, Status, apply_plan
from reconciler.engine.drift import drift_report
from reconciler.engine.live import fetch_live
from reconciler.engine.ownership import Ledger, load_ledger, save_ledger, updated_ledger
from reconciler.engine.plan import Plan, build_plan
from reconciler.engine.safety import check_safety, safety_problems
from reconciler.errors import ConfigError, ManifestError, ReconcilerError
from reconciler.export import ExportResult, adopt, export_account, name_versions
from reconciler.manifests.environment import load_environment
from reconciler.manifests.loader import load_resources
from reconciler.manifests.project import Project, load_project
from reconciler.model import KINDS, Resource
from reconciler.redact import mask_text
from reconciler.render import render_plan_as
from reconciler.render.drift import render_drift
from reconciler.render.json import render_result as render_result_json
from reconciler.render.text import render_outcomes, render_result

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2


def _use_color(stream: Any) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def _fail(message: str, secrets: frozenset[str] = frozenset()) -> None:
    click.echo(f"Error: {mask_text(message, secrets)}", err=True)
    sys.exit(EXIT_ERROR)


def connection_options(func: F) -> F:
    """The flags every command that talks to the API shares."""
    options = [
        click.option("--base-url", envvar="TELNYX_BASE_URL", default=None, metavar="URL",
                     help="API base URL [env TELNYX_BASE_URL; default https://api.telnyx.com/v2]."),
        click.option("--api-key", envvar="TELNYX_API_KEY", default=None, metavar="KEY", show_envvar=False,
                     help="API key [env TELNYX_API_KEY]. Never printed."),
        click.option("--local", is_flag=True,
                     help="Use the embedded emulator, state in .reconciler/local-state.json; no key needed."),
        click.option("--parallelism", type=click.IntRange(1, 256), default=DEFAULT_PARALLELISM,
                     show_default=True, help="Most concurrent API requests."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _load(paths: Sequence[str], var_files: Sequence[Path] = ()) -> list[Resource]:
    if not paths:
        raise ConfigError("name at least one manifest file or directory")
    environment = load_environment(var_files) if var_files else None
    return load_resources([Path(p) for p in paths], os.environ, environment=environment)


var_file_option = click.option(
    "--var-file", "var_files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Variables file (name_prefix, vars) for ${var:NAME}; repeatable, later files win.",
)


prune_option = click.option(
    "--prune", is_flag=True,
    help="Also delete objects this stack owns that the manifests no longer state (see docs/pruning.md).",
)
format_option = click.option(
    "--format", "output_format", type=click.Choice(["text", "markdown", "json"]), default="text",
    show_default=True, help="text for terminals, markdown for PR comments, json for programs.",
)


config_option = click.option(
    "--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="Project file (stack, pruning safety, protection, ignore rules) [default: ./reconciler.yaml].",
)


@dataclass(frozen=True)
class Computed:
    resources: list[Resource]
    plan: Plan
    project: Project
    ledger: Ledger | None


def _project(config_path: Path | None, connection: Connection) -> Project:
    """The project file; with --local its ledger is a separate one next to the emulator's state."""
    project = load_project(config_path)
    if connection.local and project.stack:
        # The embedded emulator is another account: its ids must never enter the real ledger.
        project = replace(project, ownership_file=LOCAL_STATE.parent / f"local-ownership-{project.stack}.json")
    return project


def _compute(client: TelnyxClient, paths: Sequence[str], connection: Connection, prune: bool,
             config_path: Path | None, var_files: Sequence[Path] = ()) -> Computed:
    """Load manifests and project, read the account, and plan: what plan, apply and drift share.

    The API key joins the plan's secrets, so even a manifest that interpolates it never shows it.
    """
    project = _project(config_path, connection)
    resources = _load(paths, var_files)
    ledger = None
    if project.stack and project.ownership_file is not None:
        ledger = load_ledger(project.ownership_file, project.stack)
    extra = ledger.kinds() if (ledger is not None and prune) else set()
    live = fetch_live(client, resources, connection.parallelism, prune=prune, extra_kinds=extra)
    the_plan = build_plan(resources, live, prune=prune, project=project, ledger=ledger)
    if connection.api_key:
        the_plan = replace(the_plan, secrets=the_plan.secrets | {connection.api_key})
    return Computed(resources, the_plan, project, ledger)


def _show(the_plan: Plan, output_format: str, err: bool = False) -> None:
    """Print the plan, masked, on stdout (or stderr when stdout is reserved for a JSON result)."""
    text = render_plan_as(the_plan, output_format, color=_use_color(sys.stderr if err else sys.stdout))
    click.echo(mask_text(text, the_plan.secrets), nl=False, err=err)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
def main() -> None:
    """Infrastructure as code for Telnyx AI assistants.

    Keep assistants as YAML manifests, then validate, plan and apply them against a Telnyx
    account (or the embedded emulator with --local).
    """


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@var_file_option
def validate(paths: tuple[str, ...], var_files: tuple[Path, ...]) -> None:
    """Check manifests offline: YAML, interpolation, schema and names. Exit 0 valid, 1 invalid."""
    try:
        resources = _load(paths, var_files)
    except ManifestError as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_ERROR)
    except ReconcilerError as exc:
        _fail(str(exc))
    for warning in (w for resource in resources for w in resource.warnings):
        click.echo(f"Warning: {warning}", err=True)
    noun = "manifest" if len(resources) == 1 else "manifests"
    click.echo(f"{len(resources)} {noun} valid.")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 with no changes, 2 with changes.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also save the plan to FILE, for 'apply --plan FILE'. It holds no secret value.")
@format_option
@prune_option
@config_option
@var_file_option
@connection_options
def plan(paths: tuple[str, ...], detailed_exitcode: bool, out: Path | None, output_format: str, prune: bool,
         config_path: Path | None, var_files: tuple[Path, ...], base_url: str | None, api_key: str | None,
         local: bool, parallelism: int) -> None:
    """Read live state and show what apply would change."""
    connection = Connection.resolve(base_url, api_key, local, parallelism)
    try:
        with open_client(connection) as client:
            computed = _compute(client, paths, connection, prune, config_path, var_files)
        the_plan = computed.plan
        if out is not None:
            planfile.save(the_plan, out, paths, computed.resources, prune, [str(f) for f in var_files])
    except ReconcilerError as exc:
        _fail(str(exc))
        return
    _show(the_plan, output_format)
    for problem in safety_problems(the_plan, computed.project.prune):
        click.echo(f"Warning: apply will refuse without --force: {problem}", err=True)
    if detailed_exitcode and not the_plan.is_empty:
        sys.exit(EXIT_CHANGES)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--plan", "plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Apply exactly this saved plan; refuse if the manifests or the account changed since.")
@click.option("--yes", is_flag=True, help="Apply without asking (needed when stdin is not a terminal).")
@click.option("--force", is_flag=True, help="Apply even past the delete/rewrite safety thresholds.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json prints the result per change on stdout (the plan and progress go to stderr).")
@prune_option
@config_option
@var_file_option
@connection_options
def apply(paths: tuple[str, ...], plan_file: Path | None, yes: bool, force: bool, output_format: str,
          prune: bool, config_path: Path | None, var_files: tuple[Path, ...], base_url: str | None,
          api_key: str | None, local: bool, parallelism: int) -> None:
    """Plan (or load a saved plan), then apply the changes. Exit 0 when all applied, 1 otherwise."""
    connection = Connection.resolve(base_url, api_key, local, parallelism)
    as_json = output_format == "json"
    human = sys.stderr if as_json else sys.stdout  # with --format json, stdout is only the result
    color = _use_color(human)
    saved = None
    try:
        if plan_file is not None:
            if paths:
                raise ConfigError("give either manifest paths or --plan, not both")
            if var_files:
                raise ConfigError("a saved plan uses the var files it was made with; do not pass --var-file")
            saved = planfile.load(plan_file)
            paths, prune, var_files = saved.paths, saved.prune, tuple(Path(f) for f in saved.var_files)
        with open_client(connection) as client:
            computed = _compute(client, paths, connection, prune, config_path, var_files)
            the_plan = computed.plan
            if saved is not None:
                planfile.check(saved, computed.resources, the_plan)
            _show(the_plan, "text", err=as_json)
            if the_plan.is_empty:
                _record_ownership(computed, None)
                result = ApplyResult(())
            else:
                check_safety(the_plan, computed.project.prune, force)
                if not yes:
                    if not sys.stdin.isatty():
                        _fail("refusing to apply: stdin is not a terminal; review the plan and pass --yes")
                    if not click.confirm("Apply these changes?", default=False, err=as_json):
                        _fail("apply cancelled; nothing was changed")
                result = _run_apply(client, computed, connection, color, as_json)
    except ReconcilerError as exc:
        _fail(str(exc))
        return
    if as_json:
        click.echo(render_result_json(result, the_plan.secrets), nl=False)
    elif result.outcomes:
        click.echo(render_result(result, color=color).splitlines()[-1])
    if not result.ok:
        sys.exit(EXIT_ERROR)


def _run_apply(client: TelnyxClient, computed: Computed, connection: Connection, color: bool,
               as_json: bool) -> ApplyResult:
    """Apply with a progress line per finished change, then record what the stack owns."""
    the_plan = computed.plan
    done = [0]
    total = len(the_plan.changes)

    def progress(outcome: Outcome) -> None:
        done[0] += 1
        for line in render_outcomes([outcome], color=color):
            click.echo(mask_text(f"[{done[0]}/{total}]{line}", the_plan.secrets), err=as_json)

    click.echo("", err=as_json)
    result = apply_plan(client, the_plan, parallelism=connection.parallelism, on_outcome=progress)
    _record_ownership(computed, result)
    return result


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@format_option
@prune_option
@config_option
@var_file_option
@connection_options
def drift(paths: tuple[str, ...], output_format: str, prune: bool, config_path: Path | None,
          var_files: tuple[Path, ...], base_url: str | None, api_key: str | None, local: bool,
          parallelism: int) -> None:
    """Compare the live account with the manifests. Exit 0 in sync, 2 drift, 1 error."""
    connection = Connection.resolve(base_url, api_key, local, parallelism)
    try:
        with open_client(connection) as client:
            computed = _compute(client, paths, connection, prune, config_path, var_files)
    except ReconcilerError as exc:
        _fail(str(exc))
        return
    report = drift_report(computed.plan)
    text = render_drift(report, output_format, color=_use_color(sys.stdout))
    click.echo(mask_text(text, computed.plan.secrets), nl=False)
    sys.exit(EXIT_OK if report.in_sync else EXIT_CHANGES)


def _write_export(client: TelnyxClient, result: ExportResult, adopt_objects: bool, config_path: Path | None,
                  connection: Connection) -> None:
    """Report what export wrote; with --adopt, record it in the stack's ledger and name versions."""
    for obj in result.objects:
        click.echo(f"wrote {obj.path}  ({obj.kind}/{obj.name})")
    for skipped in result.skipped:
        click.echo(f"skipped {skipped.kind}/{skipped.name} ({skipped.id}): {skipped.reason}", err=True)
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    for problem in result.problems:
        click.echo(f"Error: {problem}", err=True)
    if result.secrets:
        click.echo(f"Set the {len(result.secrets)} variables listed in secrets.txt before planning.", err=True)
    if adopt_objects:
        project = _project(config_path, connection)
        if not project.stack or project.ownership_file is None:
            raise ConfigError("--adopt needs a stack: set 'stack:' in reconciler.yaml")
        ledger = load_ledger(project.ownership_file, project.stack)
        save_ledger(adopt(result, ledger), project.ownership_file)
        renamed = name_versions(client, result)
        click.echo(f"Adopted {len(result.objects)} objects into stack {project.stack!r}"
                   + (f"; named {renamed} canary versions" if renamed else "") + ".", err=True)
    elif result.renames:
        click.echo(f"{len(result.renames)} canary versions need a name the plan can find them by: "
                   "run export again with --adopt (it names them without a new version).", err=True)
    if not result.ok:
        sys.exit(EXIT_ERROR)


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("manifests"),
              show_default=True, help="Directory to write one manifest per object into.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(KINDS),
              help="Export only these kinds (repeatable).")
@click.option("--name", "name_glob", default=None, metavar="GLOB", help="Only objects whose name matches.")
@click.option("--tag", default=None, help="Only assistants with this tag, and the tools and servers they use.")
@click.option("--adopt", "adopt_objects", is_flag=True,
              help="Record the exported objects as owned by this stack (reconciler.yaml 'stack:').")
@config_option
@connection_options
def export(out: Path, kinds: tuple[str, ...], name_glob: str | None, tag: str | None, adopt_objects: bool,
           config_path: Path | None, base_url: str | None, api_key: str | None, local: bool,
           parallelism: int) -> None:
    """Write manifests for what is live (adoption). Exit 0, or 1 on any problem."""
    connection = Connection.resolve(base_url, api_key, local, parallelism)
    try:
        with open_client(connection) as client:
            result = export_account(client, out, kinds=list(kinds) or None, name_glob=name_glob, tag=tag,
                                    parallelism=connection.parallelism)
            _write_export(client, result, adopt_objects, config_path, connection)
    except (ReconcilerError, ValueError) as exc:
        _fail(str(exc))


@main.command(name="import")
@click.argument("provider", type=click.Choice(["elevenlabs", "vapi", "retell"]))
@click.option("--api-key-ref", required=True, metavar="REF",
              help="Identifier of the integration secret that holds the provider's API key.")
@click.option("--id", "import_ids", multiple=True, metavar="ID", help="Import only these agents (repeatable).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("manifests"),
              show_default=True, help="Directory to write the imported assistants' manifests into.")
@click.option("--adopt", "adopt_objects", is_flag=True, help="Record them as owned by this stack.")
@config_option
@connection_options
def import_(provider: str, api_key_ref: str, import_ids: tuple[str, ...], out: Path, adopt_objects: bool,
            config_path: Path | None, base_url: str | None, api_key: str | None, local: bool,
            parallelism: int) -> None:
    """Import assistants from another platform into Telnyx, then export them as manifests."""
    connection = Connection.resolve(base_url, api_key, local, parallelism)
    try:
        with open_client(connection) as client:
            imported = client.import_assistants(provider, api_key_ref, list(import_ids) or None)
            click.echo(f"Imported {len(imported)} assistants from {provider}.", err=True)
            ids = {str(a["id"]) for a in imported}
            result = export_account(client, out, assistant_ids=ids, parallelism=connection.parallelism)
            _write_export(client, result, adopt_objects, config_path, connection)
    except (ReconcilerError, ValueError) as exc:
        _fail(str(exc))


def _record_ownership(computed: Computed, result: ApplyResult | None) -> None:
    """Write the stack's ledger: what exists now and is named by a manifest is owned."""
    project, ledger = computed.project, computed.ledger
    if ledger is None or project.ownership_file is None:
        return
    applied = [
        (o.change.action, o.change.kind, o.change.name, o.live_id)
        for o in (result.outcomes if result else ())
        if o.status is Status.APPLIED and not o.change.step
    ]
    new = updated_ledger(ledger, computed.resources, computed.plan.live_ids, applied, computed.plan.gone)
    if new != ledger:
        save_ledger(new, project.ownership_file)


@main.command()
@click.argument("kind", required=False)
def schema(kind: str | None) -> None:
    """Print the JSON Schema of one manifest kind, or of all of them."""
    from reconciler.manifests.schema import all_schemas, manifest_kinds, manifest_schema

    if kind is None:
        click.echo(json.dumps(all_schemas(), indent=2, sort_keys=True))
        return
    if kind not in manifest_kinds():
        _fail(f"unknown kind {kind!r}; known kinds: {', '.join(manifest_kinds())}")
    click.echo(json.dumps(manifest_schema(kind), indent=2, sort_keys=True))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=4010, show_default=True)
@click.option("--api-key", default=None, help="Accept only this bearer key (default: any non-empty key).")
@click.option("--state", "state_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Persist state to this JSON file and load it at start.")
@click.option("--latency-ms", type=click.IntRange(0, 60_000), default=0, show_default=True,
              help="Delay added to every API request.")
@click.option("--fault-rate", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True,
              help="Share of requests that fail on purpose.")
@click.option("--seed", type=int, default=None, help="Seed for reproducible faults.")
@click.option("--unknown-fields", type=click.Choice(["keep", "drop"]), default="keep", show_default=True,
              help="Store keys the request schema does not know, or drop them like a strict server.")
def emulator(host: str, port: int, api_key: str | None, state_file: Path | None, latency_ms: int,
             fault_rate: float, seed: int | None, unknown_fields: str) -> None:
    """Run the local Telnyx-compatible API at http://HOST:PORT/v2 until stopped."""
    from reconciler.emulator import run_emulator

    def ready(base_url: str) -> None:
        click.echo(f"Telnyx emulator listening on {base_url} (Ctrl-C to stop)", err=True)

    try:
        run_emulator(host=host, port=port, api_key=api_key, state_file=state_file, latency_ms=latency_ms,
                     fault_rate=fault_rate, seed=seed, on_ready=ready, unknown_fields=unknown_fields)
    except ValueError as exc:
        _fail(str(exc))
