"""The command line: options, exit codes and where output goes; the work happens elsewhere.

Exit codes (design.md section 2): 0 success; 1 error, invalid input or refusal;
2 ``plan --detailed-exitcode`` found changes.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import click

from reconciler import __version__
from reconciler.config import DEFAULT_PARALLELISM
from reconciler.model import KINDS
from reconciler.verify import MAIN

if TYPE_CHECKING:  # a command imports what it uses when it runs: start-up pays for none of it (issue 18)
    from reconciler import planfile
    from reconciler.api.client import TelnyxClient
    from reconciler.config import Connection
    from reconciler.engine.apply import ApplyResult, Outcome
    from reconciler.engine.live import LiveReader
    from reconciler.engine.ownership import Ledger
    from reconciler.engine.plan import Plan
    from reconciler.export import ExportResult
    from reconciler.manifests.project import Project
    from reconciler.manifests.selection import Subset
    from reconciler.model import LiveState, Resource
    from reconciler.verify.results import TestReport

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2


def _use_color(stream: Any) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.find_root().meta.get("reconciler.no_color"):
        return False  # --no-color
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def _fail(message: str, secrets: frozenset[str] = frozenset()) -> None:
    click.echo(f"Error: {_masked(message, secrets)}", err=True)
    sys.exit(EXIT_ERROR)


def _masked(text: str, secrets: frozenset[str] = frozenset()) -> str:
    """Every secret known to this command so far (the key, manifest secrets), in every encoding."""
    from reconciler.redact import known, mask_text

    return mask_text(text, secrets | known())


def _echo(text: str, err: bool = False, nl: bool = True) -> None:
    click.echo(_masked(text), err=err, nl=nl)


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Keep a limit flag for ``_connection`` without adding it to every command's signature."""
    if value is not None and param.name:
        ctx.meta[f"reconciler.{param.name}"] = value
    return value


def _connection(base_url: str | None, api_key: str | None, local: bool, parallelism: int) -> Connection:
    """Flags, then ``TELNYX_*`` (``Connection.resolve``); the key and a URL password are masked from here on."""
    from reconciler.api.limits import Limits
    from reconciler.config import Connection
    from reconciler.errors import ConfigError
    from reconciler.redact import remember, too_short

    ctx = click.get_current_context()
    meta = ctx.meta
    emulator = None
    if local:  # its start (about 0.4 s) overlaps the client's imports and the project's loading
        from reconciler.config import LocalEmulator

        try:
            emulator = LocalEmulator()
        except ConfigError as exc:
            _fail(str(exc))
            raise
        ctx.call_on_close(lambda: emulator.close(failing=True))  # when the command ends before open_client
    try:
        limits = Limits.from_env(
            request_timeout=meta.get("reconciler.request_timeout"), deadline=meta.get("reconciler.deadline")
        )
    except ConfigError as exc:
        _fail(str(exc))
        raise
    connection = Connection.resolve(base_url, api_key, local, parallelism, limits, emulator)
    key = connection.api_key
    password = urlsplit(connection.base_url).password if not local else None
    remember(s for s in (key, password) if s)
    if key and not local and too_short(key):
        _fail("the API key is too short to mask safely in output; check --api-key / TELNYX_API_KEY")
    return connection


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
                     show_default=True, help="Most concurrent API requests; writes use half of them."),
        click.option("--request-timeout", type=click.FloatRange(min=0, min_open=True), default=None,
                     metavar="SECONDS", expose_value=False, callback=_remember,
                     help="Most time for one request: connect, headers and body "
                          "[env RECONCILER_REQUEST_TIMEOUT; default 30]."),
        click.option("--deadline", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
                     expose_value=False, callback=_remember,
                     help="Most time for all requests of this command [env RECONCILER_DEADLINE; default 600]."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _load(paths: Sequence[str], var_files: Sequence[Path] = (), project: Project | None = None,
          reader: LiveReader | None = None) -> list[Resource]:
    """The manifests; each valid one is shown to ``reader`` as it loads, so the account is read meanwhile."""
    from reconciler.errors import ConfigError
    from reconciler.manifests.environment import load_environment
    from reconciler.manifests.loader import load_resources

    if not paths:
        raise ConfigError("name at least one manifest file or directory")
    environment = load_environment(var_files) if var_files else None
    if reader is not None and environment is not None:
        reader.live_name = environment.live_name
    context = click.get_current_context(silent=True)
    ahead = context.meta.pop("reconciler.parse_ahead", None) if context is not None else None
    return load_resources([Path(p) for p in paths], os.environ, environment=environment, project=project,
                          seen=None if reader is None else reader.saw,
                          ahead=ahead if ahead is not None and ahead.paths == tuple(paths)
                          and ahead.var_files == tuple(os.fspath(v) for v in var_files) else None)


def _parse_ahead(paths: Sequence[str], var_files: Sequence[Path], config_path: Path | None) -> None:
    """Start loading the manifests on the second core (``parse_ahead``) before the command imports the rest."""
    from reconciler.manifests.parse_ahead import ParseAhead

    ahead = ParseAhead.start(paths, os.environ, var_files, config_path) if paths else None
    if ahead is not None:
        context = click.get_current_context()
        context.meta["reconciler.parse_ahead"] = ahead  # _load takes it
        context.call_on_close(ahead.close)


var_file_option = click.option(
    "--var-file", "var_files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Variables file (name_prefix, vars) for ${var:NAME}; repeatable, later files win.",
)


prune_option = click.option(
    "--prune", is_flag=True,
    help="Also delete objects this stack owns that the manifests no longer state (see docs/pruning.md).",
)
selection_options_list = [
    click.option("--target", "targets", multiple=True, metavar="Kind/name", expose_value=False, callback=_remember,
                 help="Only this manifest and what it references (repeatable); nothing else is planned or pruned."),
    click.option("--select-tag", "select_tags", multiple=True, metavar="TAG", expose_value=False,
                 callback=_remember,
                 help="Only assistants with this tag, their canaries and tests, and what they reference (repeatable)."),
]


def selection_options(func: F) -> F:
    """--target and --select-tag (plan, apply, drift); read back by ``_selected``."""
    for option in reversed(selection_options_list):
        func = option(func)
    return func


format_option = click.option(
    "--format", "output_format", type=click.Choice(["text", "markdown", "json"]), default="text",
    show_default=True, help="text for terminals, markdown for PR comments, json for programs.",
)


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> float:
    from reconciler.engine.lock import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        _fail(f"--lock-timeout: {exc}")
        raise


lock_timeout_option = click.option(
    "--lock-timeout", metavar="DURATION", default="0", callback=_duration,
    help="Wait up to DURATION (90, 30s, 5m, 1h) for another run of this stack to finish instead of failing.",
)


config_option = click.option(
    "--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="Project file (stack, pruning safety, protection, ignore and passthrough rules) [default: ./reconciler.yaml].",
)


@dataclass(frozen=True)
class Computed:
    resources: list[Resource]
    plan: Plan
    project: Project
    ledger: Ledger | None
    live: LiveState | None = None


def _project(config_path: Path | None, connection: Connection) -> Project:
    """The project file; with --local its ledger is a separate one next to the emulator's state."""
    from reconciler.config import LOCAL_STATE
    from reconciler.manifests.project import load_project

    project = load_project(config_path)
    if connection.local and project.stack:
        # The embedded emulator is another account: its ids must never enter the real ledger.
        project = replace(project, ownership_file=LOCAL_STATE.parent / f"local-ownership-{project.stack}.json")
    return project


def _compute(client: TelnyxClient, paths: Sequence[str], connection: Connection, prune: bool,
             config_path: Path | None, var_files: Sequence[Path] = (), force: bool = False,
             fingerprint: bool = False, versions: bool = True) -> Computed:
    """Load manifests and project, read the account, and plan: what plan, apply and drift share.

    ``versions``: add the version budget (plan and apply show it; drift and test do not need it).

    The API key joins the plan's secrets, so even a manifest that interpolates it never shows it.
    """
    from reconciler.config import LOCAL_STATE
    from reconciler.engine.live import LiveReader
    from reconciler.engine.ownership import bound_to, ledger_files, load_ledger, other_claims
    from reconciler.engine.plan import build_plan, follow_renames
    from reconciler.engine.safety import with_refusals
    from reconciler.engine.versions import with_version_budget

    project = _project(config_path, connection)
    ledger = None
    claims: dict[tuple[str, str], str] = {}
    if project.stack and project.ownership_file is not None:
        ledger = load_ledger(project.ownership_file, project.stack, connection.account)
        claims = other_claims(ledger_files(project, LOCAL_STATE.parent if connection.local else None),
                              project.stack)
    extra = ledger.kinds() if (ledger is not None and prune) else set()
    if extra & {"Tool", "McpServer"}:
        extra.add("Assistant")  # a tool is pruned only once no live assistant uses it
    with LiveReader(client, connection.parallelism, prune=prune, extra_kinds=extra) as reader:
        resources = every = _load(paths, var_files, project, reader)  # the account is read meanwhile
        selection = _selected(resources, prune)  # refuses bad flags before the plan
        for warning in (w for resource in resources for w in resource.warnings):
            _echo(f"Warning: {warning}", err=True)  # fields sent through x-passthrough, as validate says
        # Canary reads may still be on the wire: the plan waits for each when it gets to it.
        live = reader.state(resources, lambda found: follow_renames(resources, found, ledger)[0], wait=False)
        if selection is not None:  # what the selection references is resolved from live when it exists
            selection = _selected(resources, prune, lambda kind, name: (kind, name) in live.objects)
            resources = selection.resources if selection is not None else resources
        if ledger is not None and project.ownership_file is not None:
            ledger = bound_to(ledger, connection.account, live, project.ownership_file)
        the_plan = build_plan(resources, live, prune=prune, project=project, ledger=ledger, claims=claims,
                              fingerprint=fingerprint)
        reader.settle()  # a read the plan did not look at still reports its error
    if versions:
        the_plan = with_version_budget(client, the_plan, live, project, connection.parallelism, fingerprint)
    the_plan = with_refusals(the_plan, project.prune, force)
    if selection is not None:
        the_plan = replace(the_plan, warnings=(*the_plan.warnings, selection.note()))
    addresses = {r.address for r in every} | {f"{kind}/{name}" for kind, name in live.objects}
    for warning in project.unmatched(addresses):
        _echo(f"Warning: {warning}", err=True)
    if connection.api_key:
        the_plan = replace(the_plan, secrets=the_plan.secrets | {connection.api_key})
    return Computed(resources, the_plan, project, ledger, live)


def _show(the_plan: Plan, output_format: str, err: bool = False) -> None:
    """Print the plan, masked, on stdout (or stderr when stdout is reserved for a JSON result)."""
    from reconciler.redact import mask_plan
    from reconciler.render import render_plan_as

    text = render_plan_as(mask_plan(the_plan), output_format, color=_use_color(sys.stderr if err else sys.stdout))
    click.echo(_masked(text, the_plan.secrets), nl=False, err=err)


class _Main(click.Group):
    """The command group, with one change to click: a usage error exits 1, not 2.

    Exit 2 means "changes" (``plan --detailed-exitcode``) or "drift" (``drift``): a nightly job must
    not read a mistyped path or flag as drift. Help, version and the commands' own exits are kept.
    """

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from reconciler.redact import forget_all

        forget_all()  # a new command: secrets of an earlier one (tests run many in one process) are not known
        standalone = kwargs.pop("standalone_mode", True)
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.ClickException as exc:  # UsageError, BadParameter, NoSuchOption, FileError, ...
            exc.show()
            sys.exit(EXIT_ERROR)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(EXIT_ERROR)
        if not standalone:
            return code
        sys.exit(code if isinstance(code, int) else EXIT_OK)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
@click.option("--no-color", is_flag=True, expose_value=False, is_eager=True,
              callback=lambda ctx, _param, value: ctx.meta.__setitem__("reconciler.no_color", value),
              help="No ANSI colours, as with NO_COLOR set.")
@click.option("-v", "--verbose", is_flag=True, expose_value=False, callback=_remember,
              help="Write each API request (method, route, status, duration, retry, request id) to stderr.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default=None,
              expose_value=False, callback=_remember,
              help="How much to write to stderr: info shows each API request (as -v), debug adds more.")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Infrastructure as code for Telnyx AI assistants.

    Keep assistants as YAML manifests, then validate, plan and apply them against a Telnyx
    account (or the embedded emulator with --local).
    """
    meta = ctx.meta
    _logging(meta.get("reconciler.log_level") or ("info" if meta.get("reconciler.verbose") else None))


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@config_option
@var_file_option
def validate(paths: tuple[str, ...], config_path: Path | None, var_files: tuple[Path, ...]) -> None:
    """Check manifests offline: YAML, interpolation, schema and names. Exit 0 valid, 1 invalid."""
    from reconciler.errors import ManifestError, ReconcilerError
    from reconciler.manifests.project import load_project

    try:
        resources = _load(paths, var_files, load_project(config_path))  # its passthrough: list
    except ManifestError as exc:
        _echo(str(exc), err=True)
        sys.exit(EXIT_ERROR)
    except ReconcilerError as exc:
        _fail(str(exc))
    for warning in (w for resource in resources for w in resource.warnings):
        _echo(f"Warning: {warning}", err=True)
    noun = "manifest" if len(resources) == 1 else "manifests"
    click.echo(f"{len(resources)} {noun} valid.")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 with no changes, 2 with changes.")
@click.option("--test", "run_gates", is_flag=True,
              help="Also run each gate's test suite on its unpromoted candidate now and show the results "
                   "(exit 1 if a gate fails).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also save the plan to FILE, for 'apply --plan FILE'. It holds no secret value.")
@click.option("--force", is_flag=True,
              help="Approve the plan past the safety thresholds; a saved plan carries the approval to apply.")
@format_option
@prune_option
@selection_options
@config_option
@var_file_option
@connection_options
def plan(paths: tuple[str, ...], detailed_exitcode: bool, out: Path | None, force: bool, output_format: str,
         run_gates: bool, prune: bool, config_path: Path | None, var_files: tuple[Path, ...], base_url: str | None,
         api_key: str | None, local: bool, parallelism: int) -> None:
    """Read live state and show what apply would change."""
    _parse_ahead(paths, var_files, config_path)  # first: a fork needs a process with one thread
    connection = _connection(base_url, api_key, local, parallelism)  # next: --local starts its emulator
    from reconciler.config import open_client
    from reconciler.errors import ReconcilerError
    from reconciler.redact import mask_plan
    gates: list[str] = []
    gates_failed = False
    try:
        with open_client(connection) as client:
            computed = _compute(client, paths, connection, prune, config_path, var_files, force=force,
                                fingerprint=out is not None)
            if run_gates:
                gates, gates_failed = _run_plan_gates(client, computed.plan, connection.parallelism)
        the_plan = computed.plan
        if out is not None:
            from reconciler import planfile  # only a saved plan needs it (and what it imports)

            meta = click.get_current_context().meta
            planfile.save(mask_plan(the_plan), out, paths, computed.resources, prune, [str(f) for f in var_files],
                          account=connection.account, ledger=_ledger_digest(computed),
                          targets=meta.get("reconciler.targets", ()),
                          select_tags=meta.get("reconciler.select_tags", ()))
    except ReconcilerError as exc:
        _fail(str(exc))
        return
    _show(the_plan, output_format)
    if gates:
        click.echo(_masked("\n".join(gates) + "\n", the_plan.secrets), err=output_format == "json", nl=False)
    if gates_failed:
        sys.exit(EXIT_ERROR)
    if detailed_exitcode and not the_plan.is_empty:
        sys.exit(EXIT_CHANGES)


def _run_plan_gates(client: TelnyxClient, the_plan: Plan, parallelism: int) -> tuple[list[str], bool]:
    """``plan --test``: run each gate of the plan on its candidates now, before anything is applied.

    A candidate this plan would still write (or a test it would still create or change) cannot be
    tested yet: that gate is reported as not run. Returns the report lines and whether a gate failed.
    """
    from reconciler.changes.refs import IdIndex, pending_in
    from reconciler.engine.gates import GateFailed, run_gate
    from reconciler.kinds.canary import GATE, STAGED
    from reconciler.verify.results import Outcome as TestOutcome

    lines: list[str] = []
    failed = False
    gates = [c if c.step == GATE else replace(c, body=c.body["gate"], step=GATE,
                                               requires=tuple(c.body.get("gate_requires") or ()))
             for c in the_plan.changes if c.step in (GATE, STAGED)]
    if not gates:
        click.echo("Note: --test: this plan has no gate to run (a CanaryDeploy gate runs when the plan widens "
                   "its traffic or promotes).", err=True)
        return [], False
    ids = IdIndex.of(the_plan.live_ids)
    for gate in gates:
        waiting = [p.address for p in pending_in(gate.body)]
        if waiting or gate.requires:
            unapplied = ", ".join(dict.fromkeys([*waiting, *gate.requires]))
            lines.append(f"Gate of {gate.address} not run: it tests what this plan still writes ({unapplied}); "
                         "apply the candidate first (without rules that widen its traffic), then plan --test")
            continue
        try:
            report = run_gate(client, gate, ids, parallelism)
        except GateFailed as exc:
            failed = True
            lines.append(f"Gate of {gate.address} FAILED: {exc}")
            continue
        lines.append(f"Gate of {gate.address} passed: {report.count(TestOutcome.PASSED)} of {len(report.results)} "
                     f"runs of suite {gate.body['suite']!r}")
    return lines, failed


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--plan", "plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Apply exactly this saved plan; refuse if the manifests or the account changed since.")
@click.option("--yes", is_flag=True, help="Apply without asking (needed when stdin is not a terminal).")
@click.option("--force", is_flag=True, help="Apply even past the delete/rewrite safety thresholds.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json prints the result per change on stdout (the plan and progress go to stderr).")
@prune_option
@selection_options
@lock_timeout_option
@config_option
@var_file_option
@connection_options
def apply(paths: tuple[str, ...], plan_file: Path | None, yes: bool, force: bool, output_format: str,
          prune: bool, lock_timeout: float, config_path: Path | None, var_files: tuple[Path, ...],
          base_url: str | None, api_key: str | None, local: bool, parallelism: int) -> None:
    """Plan (or load a saved plan), then apply the changes. Exit 0 when all applied, 1 otherwise."""
    connection = _connection(base_url, api_key, local, parallelism)
    from reconciler import planfile
    from reconciler.config import open_client
    from reconciler.engine.apply import ApplyResult
    from reconciler.engine.lock import lock_for
    from reconciler.engine.safety import check_safety
    from reconciler.errors import ConfigError, ReconcilerError
    from reconciler.redact import mask_plan
    from reconciler.render.json import render_result as render_result_json
    from reconciler.render.text import render_result
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
            _saved_selection(saved)
        approved = bool(saved.document.get("forced")) if saved is not None else force
        project = _project(config_path, connection)  # the lock is taken before live state is read
        with lock_for(project.stack, project.ownership_file, lock_timeout, "apply"):
            # The manifests are read under the lock, as the ledger is: an export --adopt or import holding
            # it may still be writing them. (With --local its emulator's thread already runs: no fork.)
            _parse_ahead(paths, var_files, config_path)
            with open_client(connection) as client:
                computed = _compute(client, paths, connection, prune, config_path, var_files, force=approved,
                                    fingerprint=saved is not None)
                the_plan = computed.plan
                if saved is not None:
                    planfile.check(saved, computed.resources, mask_plan(the_plan), connection.account,
                                   _ledger_digest(computed))
                _show(the_plan, "text", err=as_json)
                if the_plan.is_empty:
                    _record_ownership(computed, None)
                    result = ApplyResult(())
                else:
                    check_safety(the_plan, force)
                    if not yes:
                        if not sys.stdin.isatty():
                            _fail("refusing to apply: stdin is not a terminal; review the plan and pass --yes")
                        if not _confirm_yes("Apply these changes?", err=as_json):
                            _fail("apply cancelled; nothing was changed")
                    result = _run_apply(client, computed, connection, color, as_json)
    except ReconcilerError as exc:
        _fail(str(exc))
        return
    if as_json:
        click.echo(_masked(render_result_json(result, the_plan.secrets), the_plan.secrets), nl=False)
    elif result.outcomes:
        _echo(render_result(result, color=color).splitlines()[-1])
    if not result.ok:
        sys.exit(EXIT_ERROR)


def _run_apply(client: TelnyxClient, computed: Computed, connection: Connection, color: bool,
               as_json: bool) -> ApplyResult:
    """Apply with a progress line per finished change, then record what the stack owns."""
    from reconciler.engine.apply import Status, apply_plan
    from reconciler.engine.ownership import record
    from reconciler.engine.plan import Action
    from reconciler.render.text import render_outcomes

    the_plan = computed.plan
    done = [0]
    total = len(the_plan.changes)

    ledger_file = computed.project.ownership_file if computed.ledger is not None else None

    def progress(outcome: Outcome) -> None:
        change = outcome.change
        if ledger_file is not None and outcome.status is Status.APPLIED and outcome.live_id and not change.step:
            op = "drop" if change.action is Action.DELETE else "own"
            record(ledger_file, op, change.kind, change.name, outcome.live_id)  # before anything else
        done[0] += 1
        for line in render_outcomes([outcome], color=color):
            click.echo(_masked(f"[{done[0]}/{total}]{line}", the_plan.secrets), err=as_json)

    click.echo("", err=as_json)
    result = apply_plan(client, the_plan, parallelism=connection.write_parallelism, on_outcome=progress)
    _record_ownership(computed, result)
    return result


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@format_option
@prune_option
@selection_options
@config_option
@var_file_option
@connection_options
def drift(paths: tuple[str, ...], output_format: str, prune: bool, config_path: Path | None,
          var_files: tuple[Path, ...], base_url: str | None, api_key: str | None, local: bool,
          parallelism: int) -> None:
    """Compare the live account with the manifests. Exit 0 in sync, 2 drift, 1 error."""
    _parse_ahead(paths, var_files, config_path)
    connection = _connection(base_url, api_key, local, parallelism)
    from reconciler.config import open_client
    from reconciler.engine.drift import drift_report
    from reconciler.errors import ReconcilerError
    from reconciler.redact import mask_plan
    from reconciler.render.drift import render_drift
    try:
        with open_client(connection) as client:
            computed = _compute(client, paths, connection, prune, config_path, var_files, versions=False)
    except ReconcilerError as exc:
        _fail(str(exc))
        return
    for note in (w for w in computed.plan.warnings if w.startswith("targeted plan")):
        _echo(f"Note: {note.replace('targeted plan', 'targeted drift', 1)}.", err=True)  # a subset, said so
    report = drift_report(mask_plan(computed.plan))
    text = render_drift(report, output_format, color=_use_color(sys.stdout))
    click.echo(_masked(text, computed.plan.secrets), nl=False)
    sys.exit(EXIT_OK if report.in_sync else EXIT_CHANGES)


@main.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--suite", default=None, metavar="NAME", help="Only the tests of this test_suite.")
@click.option("--assistant", default=None, metavar="NAME", help="Only the tests that talk to this Assistant document.")
@click.option("--version", "version", default=MAIN, show_default=True, metavar="main|CANDIDATE",
              help="Run on the main version, or on a candidate (a CanaryDeploy version name, or a version id).")
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "json", "junit"]), default="text",
              show_default=True,
              help="text for terminals, markdown for PR comments, json for programs, junit for CI test reporters.")
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE", help="Also write the results as JUnit XML to FILE (any --format).")
@click.option("--timeout", "wait_timeout", type=click.FloatRange(min=0, min_open=True), default=900.0,
              show_default=True, metavar="SECONDS", help="Most time to wait for all runs to finish.")
@config_option
@var_file_option
@connection_options
def test_command(paths: tuple[str, ...], suite: str | None, assistant: str | None, version: str,
                 output_format: str, junit_file: Path | None, wait_timeout: float, config_path: Path | None,
                 var_files: tuple[Path, ...],
                 base_url: str | None, api_key: str | None, local: bool, parallelism: int) -> None:
    """Run the assistant tests the manifests define. Exit 0 all passed, 1 anything else."""
    _parse_ahead(paths, var_files, config_path)
    connection = _connection(base_url, api_key, local, parallelism)
    from reconciler.config import open_client
    from reconciler.errors import ReconcilerError
    from reconciler.model import LiveState
    from reconciler.render.junit import render_junit
    from reconciler.verify.runner import run_tests
    from reconciler.verify.selection import Selection, SelectionError, chosen_tests, targets, unapplied
    selection = Selection(suite, assistant, version)
    progress = _test_progress() if sys.stderr.isatty() and output_format == "text" else None
    try:
        with open_client(connection) as client:
            computed = _compute(client, paths, connection, False, config_path, var_files, versions=False)
            tests = chosen_tests(computed.resources, selection)
            pending = unapplied(computed.plan.changes, tests, version)
            if pending:
                raise SelectionError("the account does not hold what these tests would test; run reconciler apply "
                                     "first. Planned: " + "; ".join(pending))
            live = computed.live or LiveState()
            main_ids = {str(a.get("id")): a.get("version_id") for a in live.listed("Assistant")}
            read = {str(a.get("id")): live.versions[str(a.get("name"))] for a in live.listed("Assistant")
                    if str(a.get("name")) in live.versions}  # a CanaryDeploy's assistant: read already

            def versions_of(assistant_id: str) -> list[dict[str, Any]]:
                return read[assistant_id] if assistant_id in read else client.list_versions(assistant_id)

            chosen = targets(tests, computed.plan.live_ids, selection, versions_of,
                             lambda assistant_id: _text_or_none(main_ids.get(assistant_id)))
            report = run_tests(client, chosen, live.listed("AssistantTest"), wait_timeout,
                               connection.parallelism, progress)
    except ReconcilerError as exc:
        if progress is not None:
            click.echo("\r\033[K", err=True, nl=False)
        _fail(str(exc))
        return
    if progress is not None:
        click.echo("\r\033[K", err=True, nl=False)
    secrets = computed.plan.secrets
    if junit_file is not None:
        try:
            junit_file.write_text(_masked(render_junit(report), secrets), encoding="utf-8")
        except OSError as exc:
            click.echo(_masked(_test_report_as(report, output_format), secrets), nl=False)
            _fail(f"{junit_file}: cannot write the JUnit results: {exc.strerror or exc}")
    click.echo(_masked(_test_report_as(report, output_format), secrets), nl=False)
    sys.exit(EXIT_OK if report.passed else EXIT_ERROR)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _test_progress() -> Callable[[Mapping[str, str], float], None]:
    """One line on the terminal, rewritten after each polling round."""

    def show(statuses: Mapping[str, str], waited: float) -> None:
        counts: dict[str, int] = {}
        for status in statuses.values():
            counts[status] = counts.get(status, 0) + 1
        parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        click.echo(f"\r\033[KWaiting for {len(statuses)} run(s): {parts} ({waited:.0f} s)", err=True, nl=False)

    return show


def _test_report_as(report: TestReport, output_format: str) -> str:
    from reconciler.render.junit import render_junit
    from reconciler.render.test_report import render_json as render_test_json
    from reconciler.render.test_report import render_markdown as render_test_markdown
    from reconciler.render.test_report import render_text as render_test_text

    if output_format == "junit":
        return render_junit(report)
    if output_format == "json":
        return render_test_json(report)
    if output_format == "markdown":
        return render_test_markdown(report)
    return render_test_text(report, color=_use_color(sys.stdout))


@main.command()
@click.argument("target", metavar="Assistant/NAME")
@click.option("--to", "to_version", default=None, metavar="VERSION",
              help="The version to make main: a version id, or a version name (its newest kept version).")
@click.option("--previous", is_flag=True, help="The version created before the current main (the default).")
@click.option("--yes", is_flag=True, help="Roll back without asking (needed when stdin is not a terminal).")
@connection_options
def rollback(target: str, to_version: str | None, previous: bool, yes: bool, base_url: str | None,
             api_key: str | None, local: bool, parallelism: int) -> None:
    """Make an earlier kept version main again (one promote call, no new version)."""
    from reconciler.config import open_client
    from reconciler.engine.rollback import RollbackError, choose, describe
    from reconciler.errors import ReconcilerError

    if to_version is not None and previous:
        _fail("--to and --previous both given; choose one")
    kind, _, name = target.partition("/")
    if kind != "Assistant" or not name:
        _fail(f"{target!r} is not Assistant/NAME; only assistants have versions")
    connection = _connection(base_url, api_key, local, parallelism)
    try:
        with open_client(connection) as client:
            found = [a for a in client.list_assistants() if a.get("name") == name]
            if len(found) != 1:
                ids = ", ".join(str(a.get("id")) for a in found)
                raise RollbackError(f"Assistant/{name}: " + (f"{len(found)} live assistants have this name ({ids})"
                                                               if found else "no live assistant has this name"))
            assistant = found[0]
            versions = client.list_versions(str(assistant["id"]))
            canary = client.get_canary(str(assistant["id"])) is not None
            chosen = choose(assistant, versions, to_version, canary, client.list_tools())
            click.echo(_masked("\n".join(describe(chosen))))
            if not yes:
                if not sys.stdin.isatty():
                    _fail("refusing to roll back: stdin is not a terminal; review the above and pass --yes")
                if not click.confirm("Roll back?", default=False):
                    _fail("nothing was changed")
            client.promote_version(chosen.assistant_id, str(chosen.target["version_id"]))
    except ReconcilerError as exc:
        _fail(str(exc))
        return
    click.echo(_masked(f"Rolled back: Assistant/{name} serves {chosen.target['version_id']}. The account now "
                       "differs from git: `reconciler drift` shows how; `reconciler export --kind Assistant "
                       f"--name {name}` writes the rolled-back spec, `reconciler apply` rolls forward."))


def _write_export(client: TelnyxClient, result: ExportResult, adopt_objects: bool, config_path: Path | None,
                  connection: Connection) -> None:
    """Report what export wrote; with --adopt, record it in the stack's ledger and name versions."""
    from reconciler.config import LOCAL_STATE
    from reconciler.engine.ownership import ledger_files, load_ledger, other_claims, save_ledger
    from reconciler.errors import ConfigError
    from reconciler.export import adopt, name_versions
    from reconciler.kinds.assistant import stack_marker

    for obj in result.objects:
        _echo(f"wrote {obj.path}  ({obj.kind}/{obj.name})")
    for skipped in result.skipped:
        _echo(f"skipped {skipped.kind}/{skipped.name} ({skipped.id}): {skipped.reason}", err=True)
    for warning in result.warnings:
        _echo(f"Warning: {warning}", err=True)
    for problem in result.problems:
        _echo(f"Error: {problem}", err=True)
    if result.secrets:
        click.echo(f"Set the {_count(len(result.secrets), 'variable')} listed in secrets.txt before planning.",
                   err=True)
    if adopt_objects:
        project = _project(config_path, connection)
        if not project.stack or project.ownership_file is None:
            raise ConfigError("--adopt needs a stack: set 'stack:' in reconciler.yaml")
        ledger = load_ledger(project.ownership_file, project.stack, connection.account)
        claims = other_claims(ledger_files(project, LOCAL_STATE.parent if connection.local else None),
                              project.stack)
        taken = [o for o in result.objects if (o.kind, o.id) in claims]
        if taken:
            raise ConfigError("; ".join(f"{o.kind}/{o.name} ({o.id}) is owned by stack {claims[(o.kind, o.id)]!r}"
                                        for o in taken) + "; nothing was adopted")
        save_ledger(adopt(result, ledger), project.ownership_file)
        marker = stack_marker(project.stack)
        for obj in result.objects:
            if obj.kind == "Assistant" and marker is not None:
                client.add_tag(obj.id, marker)  # the in-band ownership record (no new version)
        renamed = name_versions(client, result)
        click.echo(f"Adopted {_count(len(result.objects), 'object')} into stack {project.stack!r}"
                   + (f"; named {_count(renamed, 'canary version')}" if renamed else "") + ".", err=True)
    elif result.renames:
        click.echo(f"{_count(len(result.renames), 'canary version')} need a name the plan can find them by: "
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
@lock_timeout_option
@config_option
@connection_options
def export(out: Path, kinds: tuple[str, ...], name_glob: str | None, tag: str | None, adopt_objects: bool,
           lock_timeout: float, config_path: Path | None, base_url: str | None, api_key: str | None,
           local: bool, parallelism: int) -> None:
    """Write manifests for what is live (adoption). Exit 0, or 1 on any problem."""
    connection = _connection(base_url, api_key, local, parallelism)
    from reconciler.config import open_client
    from reconciler.engine.lock import lock_for
    from reconciler.errors import ReconcilerError
    from reconciler.export import export_account
    try:
        project = _project(config_path, connection)  # --adopt writes the ledger: lock the stack
        with lock_for(project.stack if adopt_objects else None, project.ownership_file, lock_timeout,
                      "export --adopt"), open_client(connection) as client:
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
@click.option("--yes", is_flag=True, help="Import without asking (needed when stdin is not a terminal).")
@click.option("--overwrite-managed", is_flag=True,
              help="Also overwrite assistants that a stack manages (in an ownership ledger).")
@lock_timeout_option
@config_option
@connection_options
def import_(provider: str, api_key_ref: str, import_ids: tuple[str, ...], out: Path, adopt_objects: bool,
            yes: bool, overwrite_managed: bool, lock_timeout: float, config_path: Path | None,
            base_url: str | None, api_key: str | None, local: bool, parallelism: int) -> None:
    """Import assistants from another platform into Telnyx, then export them as manifests.

    Shows first which agents it imports and which assistants it overwrites, then asks like apply.
    """
    connection = _connection(base_url, api_key, local, parallelism)
    from reconciler.config import LOCAL_STATE, open_client
    from reconciler.engine.lock import lock_for
    from reconciler.engine.ownership import ledger_files
    from reconciler.errors import ConfigError, ReconcilerError
    from reconciler.export import export_account
    from reconciler.export.importing import managed_refusal, owners_by_id, plan_import, render_import_plan
    try:
        project = _project(config_path, connection)
        if adopt_objects and not project.stack:  # say so before the import writes, not after
            raise ConfigError("--adopt needs a stack: set 'stack:' in reconciler.yaml")
        with lock_for(project.stack if adopt_objects else None, project.ownership_file, lock_timeout,
                      "import --adopt"), open_client(connection) as client:
            owners = owners_by_id(ledger_files(project, LOCAL_STATE.parent if connection.local else None))
            preview = plan_import(provider, api_key_ref, import_ids, client.list_assistants(), owners)
            click.echo(render_import_plan(preview), nl=False)
            refusal = managed_refusal(preview)
            if refusal and not overwrite_managed:
                raise ConfigError(refusal)
            if not yes:
                if not sys.stdin.isatty():
                    raise ConfigError("refusing to import: stdin is not a terminal; review what it will do "
                                      "and pass --yes")
                if not _confirm_yes("Import these agents?"):
                    raise ConfigError("import cancelled; nothing was imported")
            imported = client.import_assistants(provider, api_key_ref, list(import_ids) or None)
            click.echo(f"Imported {_count(len(imported), 'assistant')} from {provider}.", err=True)
            ids = {str(a["id"]) for a in imported}
            result = export_account(client, out, assistant_ids=ids, parallelism=connection.parallelism)
            _write_export(client, result, adopt_objects, config_path, connection)
    except (ReconcilerError, ValueError) as exc:
        _fail(str(exc))


def _ledger_digest(computed: Computed) -> str | None:
    return computed.ledger.digest() if computed.ledger is not None else None


def _record_ownership(computed: Computed, result: ApplyResult | None) -> None:
    """Write the stack's ledger: what exists now and is named by a manifest is owned."""
    from reconciler.engine.apply import Status
    from reconciler.engine.ownership import journal_path, save_ledger, updated_ledger

    project, ledger = computed.project, computed.ledger
    if ledger is None or project.ownership_file is None:
        return
    applied = [
        (o.change.action, o.change.kind, o.change.name, o.live_id)
        for o in (result.outcomes if result else ())
        if o.status is Status.APPLIED and not o.change.step
    ]
    new = updated_ledger(ledger, computed.resources, computed.plan.live_ids, applied, computed.plan.gone)
    if new != ledger or journal_path(project.ownership_file).exists():
        save_ledger(new, project.ownership_file)


@main.command()
@click.argument("kind", required=False)
def schema(kind: str | None) -> None:
    """Print the JSON Schema of one manifest kind, or of all of them."""
    import json

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
@click.option("--rate-limit", default=None, metavar="N/s",
              help="Answer 429 with Retry-After when an API key sends more than N requests a second (token bucket).")
@click.option("--exit-with-parent", is_flag=True, hidden=True,
              help="For --local's child: print the base URL on stdout when ready, ignore Ctrl-C, and stop "
                   "(saving the state) when stdin reaches EOF.")
def emulator(host: str, port: int, api_key: str | None, state_file: Path | None, latency_ms: int,
             fault_rate: float, seed: int | None, unknown_fields: str, rate_limit: str | None,
             exit_with_parent: bool) -> None:
    """Run the local Telnyx-compatible API at http://HOST:PORT/v2 until stopped."""
    from reconciler.emulator import run_emulator

    def ready(base_url: str) -> None:
        if exit_with_parent:  # one machine-readable line for the parent (config.py, open_client)
            click.echo(base_url)
            return
        click.echo(f"Telnyx emulator listening on {base_url} (Ctrl-C to stop)", err=True)

    from reconciler.emulator.ratelimit import parse_rate

    try:
        per_s = parse_rate(rate_limit) if rate_limit is not None else None
        run_emulator(host=host, port=port, api_key=api_key, state_file=state_file, latency_ms=latency_ms,
                     fault_rate=fault_rate, seed=seed, on_ready=ready, unknown_fields=unknown_fields,
                     rate_limit=per_s, exit_with_parent=exit_with_parent)
    except ValueError as exc:
        _fail(str(exc))


def _count(number: int, noun: str) -> str:
    """``1 assistant``, ``2 assistants``: every count the command line prints agrees with its noun."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _confirm_yes(question: str, err: bool = False) -> bool:
    """Ask like Terraform: only ``yes`` goes ahead; anything else, ``y`` included, cancels."""
    answer = click.prompt(f"{question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value",
                          default="", show_default=False, err=err)
    return str(answer).strip() == "yes"


@main.command()
@click.argument("plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@format_option
def show(plan_file: Path, output_format: str) -> None:
    """Show a saved plan (plan --out FILE) without contacting the API."""
    import json

    from reconciler import planfile
    from reconciler.errors import ReconcilerError

    try:
        document = planfile.load(plan_file).document
    except ReconcilerError as exc:
        _fail(str(exc))
        return
    try:
        saved = planfile.plan_from_document(document)
    except (AttributeError, KeyError, TypeError, ValueError):
        _fail(f"{plan_file}: its changes are not in the shape reconciler saves (not a saved plan, or edited)")
        return
    if output_format == "json":
        _echo(json.dumps(dict(document), indent=2, ensure_ascii=False))
        return
    _show(saved, output_format)


class _MaskSecrets(logging.Filter):
    """Every log line is masked like the command's output: no secret known to it ever reaches stderr."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _masked(record.getMessage())
        record.args = None
        return True


def _logging(level: str | None) -> None:
    """``-v`` / ``--log-level``: a stderr handler for the request log (none without either)."""
    logger = logging.getLogger("reconciler.http")
    for old in [h for h in logger.handlers if getattr(h, "reconciler_cli", False)]:
        logger.removeHandler(old)  # a command run before in this process (the tests)
    logger.setLevel(logging.WARNING)
    if level is None:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    handler.addFilter(_MaskSecrets())
    handler.reconciler_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


def _selected(resources: list[Resource], prune: bool,
              exists: Callable[[str, str], bool] = lambda kind, name: False) -> Subset | None:
    """The subset --target / --select-tag ask for (None: all), refused together with --prune."""
    from reconciler.errors import ConfigError
    from reconciler.manifests.selection import select_subset

    meta = click.get_current_context().meta
    selection = select_subset(resources, meta.get("reconciler.targets", ()), meta.get("reconciler.select_tags", ()),
                              exists)
    if selection is not None and prune:
        raise ConfigError("--prune acts on the whole stack; it cannot be combined with --target or --select-tag")
    return selection


def _saved_selection(saved: planfile.SavedPlan) -> None:
    """apply --plan plans the subset the saved plan was made for, and only that."""
    from reconciler.errors import ConfigError

    meta = click.get_current_context().meta
    if meta.get("reconciler.targets") or meta.get("reconciler.select_tags"):
        raise ConfigError("a saved plan carries its own --target/--select-tag; do not pass them with --plan")
    meta["reconciler.targets"], meta["reconciler.select_tags"] = saved.targets, saved.select_tags


def run() -> None:
    """The ``reconciler`` script and ``python -m reconciler``: ``main``, then an exit without teardown.

    Why: after a plan of 1000 assistants the interpreter spent about 150 ms freeing its objects one by
    one before the process could end. Once the command is done (its context closed, its output
    written), the exit handlers run and the process ends at once. When another thread still works, or
    the exit carries a message, the usual exit takes over, as it does when flushing the output fails.
    """
    import atexit
    import threading

    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    others = [t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
    if not (code is None or isinstance(code, int)) or others:
        raise SystemExit(code)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: the usual exit reports it as it always did
        raise SystemExit(code) from None
    os._exit(code or 0)
