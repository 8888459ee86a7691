"""Trial operations on the command line: a thin front end over :mod:`hepatrial.service`.

Every command takes ``--db URL`` (default ``sqlite:///hepatrial.db``, or the environment
variable ``HEPATRIAL_DB``). Refusals are printed to stderr, one line per problem with its field,
value, unit, rule and fix, and exit with status 1 (usage errors: 2); never a traceback. Only
``hepatrial init`` creates a store: every other command on a missing SQLite file says so.
``hepatrial audit verify`` exits 0 when the chain is intact and 1 naming the first bad row.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from hepatrial import service
from hepatrial.exceptions import (
    ConfirmationNeededError,
    ConflictError,
    HepatrialError,
    NotAllowedError,
    NotFoundError,
    RecordError,
)
from hepatrial.protocol.models import ParticipantCodes
from hepatrial.store import DEFAULT_URL, ROLES, StoreSession, init_db, open_session, verify_audit

Db = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="HEPATRIAL_DB",
        help="Store URL (sqlite:///file.db or postgresql+psycopg://user@host/db).",
    ),
]
User = Annotated[str, typer.Option("--user", "-u", help="Acting user id (pseudonymous).")]
Participant = Annotated[str, typer.Argument(help="Participant study code.")]
OnDate = Annotated[str | None, typer.Option("--on", help="Date, YYYY-MM-DD (default today).")]
Confirm = Annotated[
    str | None,
    typer.Option(
        "--confirm",
        help="Reason for storing values a soft edit check questions (kept in the audit trail).",
    ),
]

record_app = typer.Typer(
    help="Record follow-up: visit, lab, ae, outcome, dose, withdrawal, discontinuation, qol.",
    no_args_is_help=True,
)
audit_app = typer.Typer(help="Check the hash-chained audit trail.", no_args_is_help=True)
site_app = typer.Typer(help="Manage recruiting sites.", no_args_is_help=True)
user_app = typer.Typer(help="Manage pseudonymous users and their roles.", no_args_is_help=True)

_out = Console()
_err = Console(stderr=True, soft_wrap=True)


def _date(text: str | None, name: str) -> dt.date:
    if text is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)", param_hint=name) from None


_KINDS: tuple[tuple[type[RecordError], str], ...] = (
    (ConfirmationNeededError, "needs confirmation"),
    (ConflictError, "refused (conflicts with stored data)"),
    (NotFoundError, "not found"),
    (NotAllowedError, "not allowed"),
)


def _print_refusal(error: HepatrialError) -> None:
    """One line for the refusal, then one line per problem (field, value, unit, rule, fix)."""
    kind = next((label for cls, label in _KINDS if isinstance(error, cls)), "refused")
    problems = error.problems if isinstance(error, RecordError) else ()
    if len(problems) <= 1:
        _err.print(f"[red]{kind}:[/red] {escape(str(error))}", highlight=False)
    else:
        _err.print(f"[red]{kind}:[/red] {len(problems)} problems", highlight=False)
        for problem in problems:
            _err.print(f"  {problem} ({problem.rule}, {problem.severity})", markup=False)
    if isinstance(error, ConfirmationNeededError) and len(problems) > 1:
        _err.print('  to store it as entered, add --confirm "REASON"', highlight=False)


@contextmanager
def _refusals(url: str) -> Iterator[None]:
    """Domain and database errors become lines on stderr and exit status 1."""
    try:
        yield
    except HepatrialError as error:
        _print_refusal(error)
        raise typer.Exit(code=1) from None
    except ArgumentError as error:
        _err.print(f"[red]refused:[/red] --db {url!r} is not a database URL: {error}")
        raise typer.Exit(code=1) from None
    except OperationalError as error:
        _err.print(
            f"[red]cannot use the database[/red] {_shown(url)}: {error.orig}", highlight=False
        )
        raise typer.Exit(code=1) from None


@contextmanager
def _store(url: str) -> Iterator[StoreSession]:
    """An audited session on an existing store; errors become lines on stderr and exit 1."""
    with _refusals(url), open_session(url) as session:
        yield session


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


def _done(message: str) -> None:
    _out.print(message, highlight=False, soft_wrap=True)


def init_command(
    protocol: Annotated[str, typer.Option("--protocol", "-p", help="Built-in name or YAML path.")],
    db: Db = DEFAULT_URL,
    admin: Annotated[str, typer.Option(help="Id of the first admin user.")] = "admin",
    code_pattern: Annotated[
        str | None,
        typer.Option(
            help="Regular expression every participant code must follow, e.g. S\\d{2}-\\d{4}."
        ),
    ] = None,
    code_example: Annotated[
        str | None, typer.Option(help="A participant code that follows --code-pattern.")
    ] = None,
) -> None:
    """Create the store (./hepatrial.db by default) and its trial with a sealed seed."""
    codes = _participant_codes(code_pattern, code_example)
    with _refusals(db):
        init_db(db)
    with _store(db) as session:
        info = service.create_trial(session, protocol, admin=admin, participant_codes=codes)
    _done(f"created trial {info.protocol_name} v{info.protocol_version} in {db}")
    _done(f"seed commitment (publish it): {info.seed_commitment}")


def _participant_codes(pattern: str | None, example: str | None) -> ParticipantCodes | None:
    if pattern is None and example is None:
        return None
    if pattern is None or example is None:
        raise typer.BadParameter("give --code-pattern and --code-example together")
    try:
        return ParticipantCodes(pattern=pattern, example=example)
    except ValueError as error:
        message = str(error).splitlines()[-1].strip()
        raise typer.BadParameter(message, param_hint="--code-pattern") from None


def site_add(
    code: Annotated[str, typer.Argument()],
    name: Annotated[str, typer.Argument()],
    user: User,
    db: Db = DEFAULT_URL,
) -> None:
    """Add a site (admin)."""
    with _store(db) as session:
        service.add_site(session, code=code, name=name, user=user)
    _done(f"added site {code}")


def user_add(
    user_id: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Argument(help=" | ".join(ROLES))],
    user: User,
    site: Annotated[str | None, typer.Option(help="Bind the user to one site.")] = None,
    db: Db = DEFAULT_URL,
) -> None:
    """Add a user with one role (admin)."""
    with _store(db) as session:
        service.add_user(session, user_id=user_id, role=role, site=site, user=user)
    _done(f"added user {user_id} ({role})")


def _parse_error(error: json.JSONDecodeError | yaml.YAMLError) -> str:
    """Where and why a JSON or YAML text does not parse, in one line."""
    if isinstance(error, json.JSONDecodeError):
        return f"JSON, line {error.lineno} column {error.colno}: {error.msg}"
    mark = getattr(error, "problem_mark", None)
    where = f", line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
    return f"YAML{where}: {getattr(error, 'problem', None) or error}"


def _read_patient(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise typer.BadParameter(f"{path} does not exist", param_hint="PATIENT")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise typer.BadParameter(
            f"{path} is not valid: {_parse_error(error)}", param_hint="PATIENT"
        ) from None
    if not isinstance(data, dict):
        raise typer.BadParameter(f"{path} must hold one patient mapping", param_hint="PATIENT")
    return data


def screen_command(
    participant: Participant,
    patient: Annotated[Path, typer.Argument(help="YAML or JSON: age, sex, labs, clinical, facts.")],
    site: Annotated[str, typer.Option(help="Site code.")],
    user: User,
    on: OnDate = None,
    confirm: Confirm = None,
    db: Db = DEFAULT_URL,
) -> None:
    """Screen a participant against the protocol and store the decision."""
    data = _read_patient(patient)
    with _store(db) as session:
        stored = service.screen_participant(
            session,
            participant_id=participant,
            site=site,
            patient=data,
            user=user,
            on=_date(on, "--on"),
            confirm=confirm,
        )
    table = Table(
        "criterion", "kind", "passed", "reason", title=f"{participant}: {stored.result.status}"
    )
    for c in stored.result.criteria:
        table.add_row(c.id, c.kind, {True: "yes", False: "NO", None: "?"}[c.passed], c.reason)
    _out.print(table)


def randomize_command(
    participant: Participant,
    user: User,
    weight: Annotated[float | None, typer.Option("--weight", help="Body weight, kg.")] = None,
    on: OnDate = None,
    db: Db = DEFAULT_URL,
) -> None:
    """Randomize an eligible participant (concealed) and plan their doses."""
    with _store(db) as session:
        result = service.randomize(
            session,
            participant_id=participant,
            user=user,
            randomized_on=_date(on, "--on"),
            weight_kg=weight,
        )
    _done(
        f"{participant}: #{result.sequence_number} -> {result.arm} ({result.method}, "
        f"stratum {result.stratum})"
    )
    for intervention, number, when in result.planned_doses:
        _done(f"  planned {intervention} dose {number} on {when}")


def record_visit(
    participant: Participant,
    visit: Annotated[str, typer.Argument(help="Visit id, e.g. d90.")],
    user: User,
    on: OnDate = None,
    weight: Annotated[float | None, typer.Option("--weight", help="kg")] = None,
    db: Db = DEFAULT_URL,
) -> None:
    """Record a protocol visit."""
    with _store(db) as session:
        service.record_visit(
            session,
            participant_id=participant,
            visit=visit,
            visit_date=_date(on, "--on"),
            user=user,
            weight_kg=weight,
        )
    _done(f"recorded visit {visit} of {participant}")


def record_lab(
    participant: Participant,
    analyte: Annotated[str, typer.Argument()],
    value: Annotated[float, typer.Argument()],
    unit: Annotated[str, typer.Argument()],
    user: User,
    on: OnDate = None,
    visit: Annotated[str | None, typer.Option(help="Visit id.")] = None,
    confirm: Confirm = None,
    db: Db = DEFAULT_URL,
) -> None:
    """Record a laboratory value with its unit (implausible values are refused)."""
    with _store(db) as session:
        service.record_lab(
            session,
            participant_id=participant,
            analyte=analyte,
            value=value,
            unit=unit,
            collected_on=_date(on, "--on"),
            visit=visit,
            user=user,
            confirm=confirm,
        )
    _done(f"recorded {analyte} {value:g} {unit} for {participant}")


def record_ae(
    participant: Participant,
    term: Annotated[str, typer.Option()],
    soc: Annotated[str, typer.Option("--soc", help="MedDRA system organ class.")],
    grade: Annotated[int, typer.Option(help="CTCAE grade 1-5.")],
    outcome: Annotated[str, typer.Option(help="recovered, recovering, not recovered, ...")],
    start: Annotated[str, typer.Option(help="Start date.")],
    user: User,
    end: Annotated[str | None, typer.Option(help="End date.")] = None,
    serious: Annotated[bool, typer.Option("--serious/--not-serious")] = False,
    related: Annotated[bool, typer.Option("--related/--not-related")] = False,
    liver: Annotated[bool, typer.Option("--liver-related/--not-liver-related")] = False,
    db: Db = DEFAULT_URL,
) -> None:
    """Record an adverse event."""
    with _store(db) as session:
        event = service.AdverseEventFields(
            term=term,
            system_organ_class=soc,
            grade=grade,
            serious=serious,
            related=related,
            liver_related=liver,
            outcome=outcome,
            start_date=_date(start, "--start"),
            end_date=None if end is None else _date(end, "--end"),
        )
        ae_id = service.record_adverse_event(
            session, participant_id=participant, event=event, user=user
        )
    _done(f"recorded adverse event #{ae_id} for {participant}")


def record_outcome(
    participant: Participant,
    kind: Annotated[str, typer.Argument(help="death|transplant|decompensation|infection")],
    user: User,
    on: OnDate = None,
    cause: Annotated[str | None, typer.Option(help="Cause of death.")] = None,
    detail: Annotated[str | None, typer.Option(help="Decompensation type, infection site.")] = None,
    severe: Annotated[bool | None, typer.Option("--severe/--not-severe")] = None,
    db: Db = DEFAULT_URL,
) -> None:
    """Record an outcome event."""
    with _store(db) as session:
        service.record_outcome(
            session,
            participant_id=participant,
            kind=kind,
            occurred_on=_date(on, "--on"),
            cause=cause,
            detail=detail,
            severe=severe,
            user=user,
        )
    _done(f"recorded {kind} for {participant}")


def record_dose(
    participant: Participant,
    dose_number: Annotated[int, typer.Argument()],
    amount: Annotated[float, typer.Argument()],
    unit: Annotated[str, typer.Argument(help="cells, cells/kg, µg/kg, ...")],
    user: User,
    on: OnDate = None,
    intervention: Annotated[str | None, typer.Option()] = None,
    deviation: Annotated[str | None, typer.Option(help="Note on a deviation.")] = None,
    db: Db = DEFAULT_URL,
) -> None:
    """Record a planned dose as given (doses outside the protocol's bounds are refused)."""
    with _store(db) as session:
        service.record_dose(
            session,
            participant_id=participant,
            dose_number=dose_number,
            given_on=_date(on, "--on"),
            amount=amount,
            unit=unit,
            user=user,
            intervention=intervention,
            deviation=deviation,
        )
    _done(f"recorded dose {dose_number} for {participant}")


def record_withdrawal(
    participant: Participant,
    reason: Annotated[str, typer.Option(help=", ".join(service.WITHDRAWAL_REASONS))],
    user: User,
    on: OnDate = None,
    detail: Annotated[str | None, typer.Option()] = None,
    db: Db = DEFAULT_URL,
) -> None:
    """Record a withdrawal."""
    with _store(db) as session:
        service.record_withdrawal(
            session,
            participant_id=participant,
            withdrawn_on=_date(on, "--on"),
            reason=reason,
            detail=detail,
            user=user,
        )
    _done(f"recorded withdrawal of {participant}")


def record_discontinuation(
    participant: Participant,
    reason: Annotated[str, typer.Option(help=", ".join(service.WITHDRAWAL_REASONS))],
    user: User,
    on: OnDate = None,
    detail: Annotated[str | None, typer.Option()] = None,
    db: Db = DEFAULT_URL,
) -> None:
    """Record that treatment was discontinued (follow-up goes on; no further dose)."""
    with _store(db) as session:
        service.record_discontinuation(
            session,
            participant_id=participant,
            discontinued_on=_date(on, "--on"),
            reason=reason,
            detail=detail,
            user=user,
        )
    _done(f"recorded treatment discontinuation of {participant}")


def record_qol(
    participant: Participant,
    instrument: Annotated[str, typer.Argument()],
    answers: Annotated[list[str], typer.Argument(help="item=value pairs.")],
    user: User,
    on: OnDate = None,
    visit: Annotated[str | None, typer.Option()] = None,
    db: Db = DEFAULT_URL,
) -> None:
    """Record answers of a quality-of-life questionnaire (item=value ...)."""
    parsed: dict[str, float] = {}
    for pair in answers:
        item, _, value = pair.partition("=")
        try:
            parsed[item] = float(value)
        except ValueError:
            raise typer.BadParameter(f"{pair!r} is not item=number", param_hint="ANSWERS") from None
    with _store(db) as session:
        count = service.record_qol(
            session,
            participant_id=participant,
            instrument=instrument,
            answers=parsed,
            answered_on=_date(on, "--on"),
            visit=visit,
            user=user,
        )
    _done(f"recorded {count} {instrument} item(s) for {participant}")


def schedule_command(
    on: OnDate = None,
    horizon: Annotated[int, typer.Option(help="Days ahead to list upcoming items.")] = 7,
    db: Db = DEFAULT_URL,
) -> None:
    """List visits and doses overdue, due, or opening soon."""
    with _store(db) as session:
        due = service.due_schedule(session, on=_date(on, "--on"), horizon_days=horizon)
    table = Table(
        "status",
        "participant",
        "site",
        "kind",
        "item",
        "target",
        "window",
        title=f"Due on {due.on}",
    )
    colours = {"overdue": "red", "due": "yellow", "upcoming": "green"}
    for i in due.items:
        table.add_row(
            f"[{colours[i.status]}]{i.status}[/]",
            i.participant_id,
            i.site,
            i.kind,
            i.label,
            str(i.target_date),
            f"{i.window_start} to {i.window_end}",
        )
    _out.print(table)


def export_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to write.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv|parquet")] = "csv",
    db: Db = DEFAULT_URL,
) -> None:
    """Export CDISC SDTM-like domains DM, LB, AE, EX, DS, QS, CE."""
    if fmt not in ("csv", "parquet"):
        raise typer.BadParameter(f"{fmt!r}; use csv or parquet", param_hint="--format")
    with _store(db) as session:
        result = service.export_sdtm(session, output, format="csv" if fmt == "csv" else "parquet")
    for code, path in result.files.items():
        _done(f"{code}: {result.rows[code]} row(s) -> {path}")


def audit_verify(db: Db = DEFAULT_URL) -> None:
    """Recompute the audit chain and compare it with the tables; exit 1 naming the first bad row."""
    with _store(db) as session:
        report = verify_audit(session)
    if report.ok:
        _done(f"audit trail intact: {report.n_entries} entries, head {report.head_hash}")
        return
    _err.print(f"[red]audit trail does not verify[/red]: {report.first_problem}", highlight=False)
    _err.print(f"{len(report.problems)} problem(s) in total", highlight=False)
    raise typer.Exit(code=1)


def _commands(app: typer.Typer, commands: dict[str, Callable[..., None]]) -> None:
    for name, function in commands.items():
        app.command(name)(function)


def register(app: typer.Typer) -> None:
    """Add the trial-operation commands to ``hepatrial``."""
    _commands(
        app,
        {
            "init": init_command,
            "screen": screen_command,
            "randomize": randomize_command,
            "schedule": schedule_command,
            "export": export_command,
        },
    )
    _commands(
        record_app,
        {
            "visit": record_visit,
            "lab": record_lab,
            "ae": record_ae,
            "outcome": record_outcome,
            "dose": record_dose,
            "withdrawal": record_withdrawal,
            "discontinuation": record_discontinuation,
            "qol": record_qol,
        },
    )
    _commands(audit_app, {"verify": audit_verify})
    _commands(site_app, {"add": site_add})
    _commands(user_app, {"add": user_add})
    app.add_typer(record_app, name="record")
    app.add_typer(audit_app, name="audit")
    app.add_typer(site_app, name="site")
    app.add_typer(user_app, name="user")
