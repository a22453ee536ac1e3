"""Command-line interface: parse, call the core, pick a renderer, set the exit code.

Exit codes: 0 ok (warnings allowed), 1 blocking findings, 2 usage or input error,
3 internal error (a bug: please report it).
"""

from __future__ import annotations

import errno
import functools
import sys

import click

from ketadose import __version__
from ketadose.commands.help import Command
from ketadose.errors import KetadoseError, OutOfResources
from ketadose.fastpath import one_line as _safe  # the error lines of both paths are one code
from ketadose.launch import WRITE_FAILURES, Terminated, catch_signals, quiet_stdout, stdout_failure

OK, INPUT_ERROR, INTERNAL = 0, 2, 3  # 1 (blocking findings) comes from the commands
PIPE_CLOSED = 141  # 128 + SIGPIPE


class InputError(click.ClickException):
    """A KetadoseError surfaced through click: one line on stderr, exit 2."""

    exit_code = INPUT_ERROR

    def show(self, file=None):
        click.echo(f"ketadose: error: {_safe(self.message)}", err=True)


class Group(click.Group):
    command_class = Command  # own options first, shared ones last, examples

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KetadoseError as exc:
            raise InputError(str(exc)) from None


def output_options(fn):
    """-o/--output FILE (atomic, never overwrites without --force) and --quiet, on every command.

    The CLI opens the output stream (the -o file, or standard output on first use) and the
    command's renderers write to it as they go; the file is committed (fsync, then link or
    replace) only when the command ends normally, and removed on every other exit path."""

    @click.option("-o", "--output", "output_path", metavar="FILE",
                  help="Write the output to FILE atomically; an existing file needs --force.")
    @click.option("--force", "force_output", is_flag=True,
                  help="Allow --output (and --plot) to replace a regular file.")
    @click.option("-q", "--quiet", is_flag=True, help="No diagnostics on stderr (for scripts).")
    @functools.wraps(fn)
    def wrapper(*args, output_path=None, force_output=False, quiet=False, **kwargs):
        ctx = click.get_current_context()
        ctx.meta["quiet"] = quiet
        ctx.meta["force"] = force_output
        from ketadose.io.writer import AtomicFile, StdoutStream

        ctx.meta["open_stdout"] = StdoutStream
        if output_path:
            ctx.meta["out"] = AtomicFile(output_path, force_output)
        code = OK
        try:
            fn(*args, **kwargs)
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except BaseException:
            out = ctx.meta.get("out")
            if out is not None and hasattr(out, "abort"):
                out.abort()
            raise
        out = ctx.meta.get("out")
        if out is not None:
            out.finish()  # flush (stdout) or fsync and link into place (-o): errors end the run
        if output_path and not quiet:
            from ketadose.render.text import terminal_safe

            click.echo(f"wrote {terminal_safe(output_path, newlines=False)}", err=True)
        ctx.exit(code)

    return wrapper


def format_option(*choices, default=None):
    return click.option("--format", "fmt", type=click.Choice(choices), default=default or choices[0],
                        show_default=True, help="Output format.")


def batch_format_option(*choices):
    """--format for commands that also run batches: a batch (--patients) writes JSON Lines
    unless told otherwise, a single patient a table."""
    return click.option("--format", "fmt", type=click.Choice(choices), default=None,
                        help=f"Output format [default: {choices[0]}; jsonl with --patients].")


def _batch_format(fmt, patients):
    return fmt or ("jsonl" if patients else "table")


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="ketadose")
@click.option("--regimens", "regimen_dirs", multiple=True, metavar="DIR",
              help="Extra folder of regimen templates (repeatable); also $KETADOSE_REGIMENS.")
@click.pass_context
def cli(ctx, regimen_dirs):
    """Decision support for sub-anaesthetic ketamine regimens in chronic neuropathic pain.

    Not a substitute for clinical judgement: every number names its source so that
    a clinician can check it. The documents the sources cite (docs/evidence.md ...) are
    shipped: `ketadose docs`.
    """
    ctx.obj = {"regimen_dirs": list(regimen_dirs)}
    from ketadose.render.diag import note

    ctx.meta["report"] = note  # warnings from the loaders (io does not render)


def _dirs(ctx) -> tuple:
    return tuple(ctx.find_root().obj["regimen_dirs"])


def _more_dirs(ctx, _param, value):
    # `--regimens DIR` after the subcommand: searched after those given before it
    ctx.find_root().obj["regimen_dirs"].extend(value)


# ----------------------------------------------------------------------------- validate
@cli.command()
@output_options
@click.argument("files", nargs=-1, required=True)
@click.option("--explain", is_flag=True, help="List every rule evaluated and limit consulted.")
@format_option("text", "json", "github")
@click.pass_context
def validate(ctx, files, explain, fmt):
    """Check regimen FILES (or folders, searched recursively for *.yaml and *.yml; or ids; or
    '-' for stdin) against format v1 and the limits.

    Exit 0 when no file has an error, 1 when any has, 2 when a file cannot be read.
    """
    from ketadose.commands.validate import run

    ctx.exit(run(files, fmt, _dirs(ctx), explain))


# ----------------------------------------------------------------------------- schema
@cli.command()
@output_options
@click.argument("what", type=click.Choice(["regimen", "patient", "plan", "check", "validate",
                                          "batch", "simulate-population",
                                          "compare-population"]))
@format_option("json", "markdown")
def schema(what, fmt):
    """Print a JSON Schema: of an input (regimen, patient) or of an output (plan, check,
    validate, batch: one JSON Lines record, simulate-population: simulate --population,
    compare-population: compare --population).

    `schema regimen --format markdown` prints the format reference (docs/regimen-format.md,
    also `ketadose docs regimen-format`)."""
    if fmt == "markdown":
        if what != "regimen":
            raise click.UsageError("--format markdown is for `schema regimen` (the format reference)")
        from ketadose.render.diag import output
        from ketadose.render.format_doc import write_format_reference

        write_format_reference(output())
        return
    from ketadose.output_schemas import SCHEMAS
    from ketadose.patient import PATIENT
    from ketadose.regimen_format import REGIMEN
    from ketadose.render.data import to_json
    from ketadose.render.diag import emit
    from ketadose.spec import to_json_schema

    if what in SCHEMAS:
        emit(to_json(SCHEMAS[what]))
        return
    node = {"regimen": REGIMEN, "patient": PATIENT}[what]
    doc = {"$schema": "https://json-schema.org/draft/2020-12/schema",
           "$id": f"https://ketadose.invalid/schema/{what}-v1.json",
           "title": f"ketadose {what}, format v1", **to_json_schema(node)}
    emit(to_json(doc))


# ----------------------------------------------------------------------------- limits, rules
@cli.command()
@output_options
@format_option("table", "json", "yaml")
def limits(fmt):
    """Print the dose-limit library (hard and soft limits with their sources)."""
    from ketadose.commands.reference import show_limits

    show_limits(fmt)


@cli.command()
@output_options
@format_option("table", "json")
@click.argument("rule_id", required=False)
def rules(fmt, rule_id):
    """List every rule with its explanation, example and source (or one RULE_ID in full)."""
    from ketadose.commands.reference import show_rules

    show_rules(fmt, rule_id)


@cli.command()
@output_options
@click.argument("name", required=False)
def docs(name):
    """List the documents shipped for users, or print the document NAME (e.g. evidence, or
    docs/evidence.md as a source cites it) as Markdown."""
    from ketadose.commands.docs import show_docs

    show_docs(name)


# ----------------------------------------------------------------------------- library
@cli.command("list")
@output_options
@click.option("--condition", help="Only regimens for this condition id (e.g. crps).")
@click.option("--route", type=click.Choice(["iv", "sc", "oral", "topical"]), help="Only this route.")
@format_option("table", "json", "yaml")
@click.pass_context
def list_(ctx, condition, route, fmt):
    """List the regimen templates (shipped and from --regimens folders)."""
    from ketadose.commands.library import list_regimens

    list_regimens(_dirs(ctx), condition, route, fmt)


@cli.command()
@output_options
@click.argument("ref", metavar="ID|FILE")
@format_option("table", "yaml", "json")
@click.pass_context
def show(ctx, ref, fmt):
    """Show a whole regimen: phases, caps, adjuncts, monitoring, stop rules, evidence."""
    from ketadose.commands.library import show_regimen

    show_regimen(_dirs(ctx), ref, fmt)


@cli.command()
@output_options
@click.argument("template", required=False, metavar="ID")
@click.option("--from", "from_id", metavar="ID", hidden=True,
              help="Deprecated spelling of the ID argument.")
@click.option("--id", "new_id", metavar="ID", help="Id of the new regimen [default: ID-local].")
@format_option("yaml")
@click.pass_context
def new(ctx, template, from_id, new_id, fmt):
    """Start a custom regimen from the template ID, with comments that explain each field.

    Write it with -o FILE (atomic; an existing file needs --force).
    """
    from ketadose.commands.library import new_regimen

    if template and from_id and template != from_id:
        raise click.UsageError(f"two templates: {template} and --from {from_id}; give the ID once")
    if not (template or from_id):
        raise click.UsageError("give the template ID to copy, e.g. `ketadose new "
                               "crps-schwartzman-2009 -o local.yaml`")
    new_regimen(_dirs(ctx), template or from_id, new_id)


# ----------------------------------------------------------------------------- patients
class _Digits(click.ParamType):
    """A click number type (int, float, a range) that refuses digits other than 0-9 (int() and
    float() take "٤٠" as 40) with the message every other input path gives (units.foreign_digit)."""

    def __init__(self, base: click.ParamType):
        self.base, self.name = base, base.name

    def convert(self, value, param, ctx):
        if isinstance(value, str):
            from ketadose.units import foreign_digit

            foreign = foreign_digit(value)
            if foreign:
                self.fail(foreign, param, ctx)
            if isinstance(self.base, click.types.FloatParamType):
                self._finite(value, param, ctx)
        return self.base.convert(value, param, ctx)

    def _finite(self, value: str, param, ctx) -> None:
        """click's float() reads 1e400 as inf and says "inf is not in the range 0<=x<=500": the
        number as written, as a file and a batch line word it (units.parse_number)."""
        from ketadose.errors import UnitError
        from ketadose.units import parse_number

        try:
            parse_number(value.strip())
        except UnitError as exc:
            self.fail(exc.message, param, ctx)
        except ValueError:  # click's words were "'abc' is not a valid float range."
            self.fail(f"{value!r} is not a number", param, ctx)

    def get_metavar(self, *args, **kwargs):
        return self.base.get_metavar(*args, **kwargs)


WHOLE_NUMBER = _Digits(click.INT)


def patient_options(fn):
    """The patient flags shared by check and plan (a file via --patient, or flags, or both)."""
    opts = [
        click.option("--patient", "patient_path", metavar="FILE",
                     help="Patient record, YAML or JSON ('-' for stdin)."),
        click.option("--weight", help="Body weight with its unit, e.g. 72kg or 160lb (a bare number is refused)."),
        click.option("--height", help="Height with its unit, e.g. 168cm or 1.68m."),
        click.option("--age", type=WHOLE_NUMBER, help="Age in years."),
        click.option("--sex", type=click.Choice(["female", "male"]),
                     help="Sex (ideal and adjusted body weight; pregnancy questions)."),
        click.option("--pregnant/--not-pregnant", default=None, help="Pregnancy status."),
        click.option("--breastfeeding/--not-breastfeeding", default=None,
                     help="Breastfeeding status (an information finding for the infant)."),
        click.option("--bp", metavar="SYS/DIA", help="Resting blood pressure in mmHg, e.g. 128/82."),
        click.option("--heart-rate", type=WHOLE_NUMBER, help="Resting heart rate, beats/min."),
        click.option("--condition", "conditions", multiple=True, metavar="ID",
                     help="Condition id (repeatable); see `ketadose vocabulary`."),
        click.option("--no-conditions", is_flag=True, help="Asked: the patient has none."),
        click.option("--medication", "medications", multiple=True, metavar="NAME[:DOSE]",
                     help="Medicine (repeatable), e.g. morphine:60mg/day."),
        click.option("--no-medications", is_flag=True, help="Asked: the patient takes none."),
        click.option("--allergy", "allergies", multiple=True, metavar="TEXT",
                     help="Allergy as written (repeatable); brands, salts and misspellings are "
                          "recognised, an unknown one is asked about."),
        click.option("--no-allergies", is_flag=True, help="Asked: no allergies."),
        click.option("--no-previous-courses", is_flag=True, help="Asked: no earlier ketamine course."),
        *[click.option(f"--{t}", metavar="VALUE/ULN",
                       help=f"{t.upper()} and the laboratory's upper limit of normal with the "
                            "unit, e.g. '40/45 U/L' or '40 U/L/45 U/L' (a bare number is refused).")
          for t in ("alt", "ast", "alp", "ggt")],
        click.option("--bilirubin", metavar="VALUE", help="Bilirubin with its unit, e.g. 12umol/L."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _max_line(ctx, param, value):
    if value is None:
        return None
    from ketadose.io.batch import parse_size

    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


MAX_JOBS = 256  # a bound on processes started, not a tuning: more than the cores only queues


def _jobs(ctx, param, value):
    """--jobs N (whole number >= 1) or 'auto' (the cores this process may run on)."""
    if value is None:
        return None
    if value.strip().lower() == "auto":
        import os

        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
            (os.cpu_count() or 1)
    try:
        jobs = int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a whole number or 'auto'") from None
    if not 1 <= jobs <= MAX_JOBS:
        raise click.BadParameter(f"must be between 1 and {MAX_JOBS} (or 'auto')")
    return jobs


def batch_options(fn):
    fn = click.option("--jobs", metavar="N|auto", callback=_jobs,
                      help="Batch: worker processes [default: 1]; 'auto' uses every core this "
                           "process may run on. Output order and error lines are unchanged.")(fn)
    fn = click.option("--max-line", metavar="SIZE", callback=_max_line,
                      help="Batch: the longest JSON line read, e.g. 64MiB (up to 1GiB) "
                           "[default: 16MiB]; a longer line is an error record.")(fn)
    fn = click.option("--patients-format", type=click.Choice(["jsonl", "csv"]),
                      help="Format of --patients [default: by file suffix, or sniffed].")(fn)
    return click.option("--patients", metavar="FILE",
                        help="Batch: JSON Lines or CSV of patients ('-' for stdin); "
                             "writes JSON Lines, one line per patient.")(fn)


def _not_a_batch(fmt, kwargs):
    """The batch-only options without --patients are a usage error, not silently ignored."""
    for given, name in ((fmt == "jsonl", "--format jsonl"), (kwargs.get("max_line"), "--max-line"),
                        (kwargs.get("jobs") is not None, "--jobs")):
        if given:
            raise click.UsageError(f"{name} is for batches (--patients FILE)")


def _batch_usage(patient_path, flags, fmt, explain=False):
    if patient_path or _flags_given(flags):
        raise click.UsageError("--patients cannot be combined with --patient or patient flags")
    if explain:  # a batch line carries no derivations: refused rather than silently left out
        raise click.UsageError("--explain is for one patient (--patient FILE or patient flags); "
                               "a batch line carries no derivations")
    if fmt != "jsonl":
        raise click.UsageError("a batch (--patients) writes JSON Lines: leave out --format or "
                               "give --format jsonl")


_PATIENT_FLAGS = ("weight", "height", "age", "sex", "pregnant", "breastfeeding", "bp", "heart_rate",
                  "conditions", "no_conditions", "medications", "no_medications", "allergies",
                  "no_allergies", "no_previous_courses", "alt", "ast", "alp", "ggt", "bilirubin")


def _flags_given(flags) -> bool:
    return any(v not in (None, (), False) for v in flags.values())


def _pop_patient_flags(kwargs) -> dict:
    return {k: kwargs.pop(k) for k in _PATIENT_FLAGS}


def _date(value):
    from ketadose.commands.options import date

    return date(value)


@cli.command()
@output_options
@click.argument("regimen", required=False, metavar="[ID|FILE]")
@patient_options
@click.option("--override", metavar="REASON", help="Proceed despite a contraindication; recorded.")
@click.option("--start", "--date", "on_date", metavar="DATE[THH:MM]",
              help="First day of the course: the screen is as of that day (washouts, earlier "
                   "courses) [default: today]. --date is the same option.")
@click.option("--reproducible", is_flag=True,
              help="Leave the time of computation out of the audit (a batch, --patients, "
                   "never carries the time: accepted, the same lines).")
@click.option("--explain", is_flag=True, help="Show every rule evaluated and the inputs used.")
@batch_options
@batch_format_option("table", "json", "yaml", "jsonl")
@click.pass_context
def check(ctx, regimen, patient_path, override, on_date, reproducible, explain, fmt, patients,
          patients_format, **kwargs):
    """Screen a patient for contraindications and interactions (optionally for a REGIMEN).

    Status: contraindicated, incomplete, caution or clear. Exit 1 when contraindicated
    unless --override "reason"; 0 otherwise.
    """
    from ketadose.commands.check import run_check

    fmt = _batch_format(fmt, patients)
    flags = _pop_patient_flags(kwargs)
    if patients:
        _batch_usage(patient_path, flags, fmt, explain)
        from ketadose.commands.batch import run_batch

        ctx.exit(run_batch("check", _dirs(ctx), regimen, patients, patients_format,
                           {"override": override}, _date(on_date), kwargs.pop("max_line"),
                           jobs=kwargs.pop("jobs") or 1))
    _not_a_batch(fmt, kwargs)
    if not patient_path and not _flags_given(flags):
        raise click.UsageError("give --patient FILE and/or patient flags such as --weight")
    ctx.exit(run_check(_dirs(ctx), regimen, patient_path, flags, override, _date(on_date), fmt,
                       reproducible, explain))


def _start(value):
    from ketadose.commands.options import start

    return start(value)


def _concentration(value):
    from ketadose.commands.options import concentration

    return concentration(value)


@cli.command()
@output_options
@click.argument("regimen", metavar="ID|FILE")
@patient_options
@click.option("--concentration", metavar="C", help="Infusion or product strength, e.g. 1mg/mL.")
@click.option("--weight-basis", type=click.Choice(["actual", "ideal", "adjusted"]),
              help="Dose on this weight instead of the regimen's basis.")
@click.option("--start", "--date", "start", metavar="DATETIME",
              help="First session, e.g. 2026-12-01T09:00 (clock times; the screen is as of "
                   "that day). --date is the same option.")
@click.option("--priming", type=_Digits(click.FloatRange(min=0, max=500)), metavar="ML",
              help="Giving-set priming volume in mL, added to the bag.")
@click.option("--override", metavar="REASON", help="Plan despite a contraindication; recorded.")
@click.option("--reproducible", is_flag=True,
              help="Leave the time of computation out of the audit (a batch, --patients, "
                   "never carries the time: accepted, the same lines).")
@click.option("--explain", is_flag=True,
              help="Derive every number step by step, with the limits and rules consulted.")
@batch_options
@batch_format_option("table", "json", "yaml", "csv", "jsonl", "fhir", "html")
@click.pass_context
def plan(ctx, regimen, patient_path, concentration, weight_basis, start, priming, override,
         reproducible, explain, fmt, patients, patients_format, **kwargs):
    """Dose plan for a patient: screen, dosing weight, rates, pump rates, calendar, preparation.

    Exit 1 when the patient is contraindicated (unless --override) or a hard limit is exceeded.
    """
    from ketadose.commands.plan import run_plan

    fmt = _batch_format(fmt, patients)
    flags = _pop_patient_flags(kwargs)
    if not patients and not patient_path and not _flags_given(flags):
        raise click.UsageError("give --patient FILE and/or patient flags such as --weight")
    from ketadose.commands.options import priming as _priming

    opts = {"concentration": _concentration(concentration), "weight_basis": weight_basis,
            "start": _start(start), "priming": _priming(priming), "override": override,
            "reproducible": reproducible, "explain": explain}
    if patients:
        _batch_usage(patient_path, flags, fmt, explain)
        from ketadose.commands.batch import run_batch

        today = opts["start"].date() if opts["start"] else _date(None)
        ctx.exit(run_batch("plan", _dirs(ctx), regimen, patients, patients_format, opts, today,
                           kwargs.pop("max_line"), jobs=kwargs.pop("jobs") or 1))
    _not_a_batch(fmt, kwargs)
    ctx.exit(run_plan(_dirs(ctx), regimen, patient_path, flags, opts, fmt))


def _resolution(value) -> float:
    from ketadose.commands.simulate import resolution_minutes

    return resolution_minutes(value)


@cli.command()
@output_options
@click.argument("regimen", metavar="ID|FILE")
@patient_options
@click.option("--model", help="PK model id (`ketadose models`) [default: by drug form].")
@click.option("--resolution", default="1 min", show_default=True,
              help="Output time step, 6 s to 1 h, e.g. 6s, 30s, 1min, 1h.")
@click.option("--f", "bio_f", type=_Digits(click.FLOAT), help="Bioavailability (0-1) for SC/oral; overrides the default.")
@click.option("--ka", type=_Digits(click.FLOAT), help="Absorption rate constant, 1/min, for SC/oral.")
@click.option("--plot", metavar="FILE.png|FILE.svg", help="Also write the chart as an image.")
@click.option("--explain", is_flag=True, help="Show how the model's parameters and summaries were derived.")
@click.option("--population", type=WHOLE_NUMBER, is_flag=False, flag_value=1000, default=None, metavar="N",
              help="Simulate N virtual patients like this one (default 1000 when given without N) "
                   "from the model's published between-patient variability.")
@click.option("--seed", type=WHOLE_NUMBER, default=1, show_default=True,
              help="Random seed for --population (same seed, same virtual patients).")
@format_option("table", "json", "csv")
@click.pass_context
def simulate(ctx, regimen, patient_path, model, resolution, bio_f, ka, plot, explain, population,
             seed, fmt, **kwargs):
    """Predict plasma ketamine over the whole course from a published PK model."""
    from ketadose.commands.options import bioavailability
    from ketadose.commands.options import ka as _ka
    from ketadose.commands.simulate import run_simulate

    flags = _pop_patient_flags(kwargs)
    bio_f, ka = bioavailability(bio_f), _ka(ka)
    ctx.exit(run_simulate(_dirs(ctx), regimen, patient_path, flags, model, _resolution(resolution),
                          bio_f, ka, fmt, plot, explain, population=population, seed=seed))


@cli.command()
@output_options
@click.argument("regimens", nargs=-1, required=True, metavar="ID|FILE...")
@patient_options
@click.option("--concentration", metavar="C",
              help="Infusion or product strength for every regimen, e.g. 1mg/mL.")
@click.option("--weight-basis", type=click.Choice(["actual", "ideal", "adjusted"]),
              help="Dose on this weight instead of each regimen's basis.")
@click.option("--explain", is_flag=True,
              help="Show how each number was derived (weight, concentration, totals, model).")
@click.option("--population", type=WHOLE_NUMBER, is_flag=False, flag_value=1000, default=None, metavar="N",
              help="Compare on the same N virtual patients (default 1000 when given without N).")
@click.option("--seed", type=WHOLE_NUMBER, default=1, show_default=True,
              help="Random seed for --population (same seed, same virtual patients).")
@click.option("--plot", metavar="FILE.png|FILE.svg",
              help="Also write the chart (one line per regimen and its model) as an image.")
@format_option("table", "json", "yaml", "csv")
@click.pass_context
def compare(ctx, regimens, patient_path, concentration, weight_basis, explain, population, seed,
            plot, fmt, **kwargs):
    """Compare regimens side by side for one patient: totals, hours, peak, exposure, screen."""
    from ketadose.commands.simulate import run_compare

    flags = _pop_patient_flags(kwargs)
    ctx.exit(run_compare(_dirs(ctx), regimens, patient_path, flags, fmt, population=population,
                         seed=seed, concentration=_concentration(concentration),
                         weight_basis=weight_basis, explain=explain, plot=plot))


@cli.command()
@output_options
@format_option("table", "json")
def models(fmt):
    """List the pharmacokinetic models with their status, population and citation."""
    from ketadose.commands.simulate import show_models

    show_models(fmt)


@cli.command()
@output_options
@click.argument("output_file", metavar="OUTPUT.json")
@format_option("text", "json")
@click.pass_context
def verify(ctx, output_file, fmt):
    """Recompute a saved plan or check (JSON) and report whether it still matches today's
    regimen file, rules and limits. Exit 0 if it matches, 1 if not, 2 if it cannot be read."""
    from ketadose.commands.verify import run_verify

    ctx.exit(run_verify(_dirs(ctx), output_file, fmt))


@cli.command("import")
@output_options
@click.argument("file", metavar="FILE")
@click.option("--start", "--date", "on_date", metavar="DATE[THH:MM]",
              help="Screening day, as for `check --start` [default: today]. --date is the same "
                   "option.")
@click.option("--stale-after", multiple=True, metavar="FIELD=DAYS",
              help="Clinic setting: oldest measurement that counts, e.g. liver=14 (repeatable).")
@click.option("--record-only", is_flag=True, help="Print only the record (usable as --patient).")
@format_option("yaml", "json")
@click.pass_context
def import_(ctx, file, on_date, stale_after, record_only, fmt):
    """Show the patient record derived from a FHIR R4 Bundle or Patient (FILE or '-'), with the
    resource behind each field. Exit 0, or 2 if the input or the derived record is invalid."""
    from ketadose.commands.fhir_import import run_import, stale_settings

    ctx.exit(run_import(file, _date(on_date), fmt, stale_settings(stale_after), record_only))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="Port (0: any free port; the chosen one is printed).")
@click.option("--jwks", metavar="FILE", help="Trusted EHR issuers and their public keys (JSON).")
@click.option("--no-auth", is_flag=True, help="No authentication: tests and demos, loopback only.")
@click.option("--public-url", metavar="URL", help="URL the EHR calls (JWT audience) behind a proxy.")
@click.option("--regimen", metavar="ID|FILE", help="Clinic default regimen for orders that name none.")
@click.option("--audit-log", default="ketadose-cds-feedback.jsonl", show_default=True,
              metavar="FILE", help="Append-only JSON Lines log of card feedback.")
@click.option("--cors-origin", multiple=True, metavar="ORIGIN", help="Browser origin allowed (CORS).")
@click.option("--workers", type=click.IntRange(0, 64), metavar="N",
              help="Worker processes making the answers; 0: the server process makes them "
                   "[default: 0 on 1-2 cores, else one per core beyond the first, at most 8]. "
                   "Token replay checks (jti) and the feedback audit stay in the server "
                   "process, so they hold for all workers, but not across several `ketadose "
                   "serve` instances.")
@click.pass_context
def serve(ctx, host, port, jwks, no_auth, public_url, regimen, audit_log, cors_origin, workers):
    """Run the CDS Hooks 2.0 service (order-select, order-sign) for the EHR.

    Needs the serve extra: pip install 'ketadose[serve]'. Deployment guide:
    `ketadose docs fhir-and-cds-hooks`."""
    from ketadose.commands.serve import run_serve

    ctx.exit(run_serve(_dirs(ctx), host, port, jwks, no_auth, public_url, regimen, audit_log,
                       cors_origin, workers))


@cli.command()
@output_options
@format_option("table", "json", "yaml")
def vocabulary(fmt):
    """Print the controlled lists of conditions and medicines (with their classes)."""
    from ketadose.commands.reference import show_vocabulary

    show_vocabulary(fmt)


# every command that looks templates up by id takes --regimens after its name too
for _cmd in (validate, list_, show, new, check, plan, simulate, compare, verify, serve):
    _cmd.params.append(click.Option(
        ["--regimens", "more_regimen_dirs"], multiple=True, metavar="DIR", expose_value=False,
        callback=_more_dirs, help="Extra folder of regimen templates (repeatable); also "
        "$KETADOSE_REGIMENS. Also accepted before the command."))


def _choice_hint(exc: click.UsageError) -> str:
    """' Did you mean 'json'?' for a value close to one of an option's choices (--format jsn),
    as click already says for a misspelt option or command."""
    import difflib
    import re

    param = getattr(exc, "param", None)
    if param is None or not isinstance(param.type, click.Choice):
        return ""
    given = re.search(r"'([^']*)' is not one of", exc.format_message())
    if not given:
        return ""
    word, choices = given.group(1).lower(), list(param.type.choices)
    prefixed = [c for c in choices if word and c.startswith(word)]
    close = prefixed if len(prefixed) == 1 else difflib.get_close_matches(word, choices, n=1,
                                                                          cutoff=0.5)
    return f" Did you mean {close[0]!r}?" if close else ""


# click >= 8.2 raises this for a group called with nothing (older clicks print the help)
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


def main(argv=None):
    """Entry point: never a traceback for bad input; a bug is reported on one line, exit 3."""
    from ketadose.io.writer import PipeClosed, plug_std_fds

    plug_std_fds()
    catch_signals()
    try:
        rc = cli.main(args=argv, prog_name="ketadose", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("ketadose: aborted", err=True)
        rc = INPUT_ERROR
    except _NO_ARGS_IS_HELP as exc:
        # `ketadose` (or a command group) with nothing after it: the help is the answer, not a
        # one-line error with its line breaks escaped; on stderr with exit 2, as click does.
        click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message(), err=True)
        rc = INPUT_ERROR
    except click.UsageError as exc:
        # One line, as for every other input error (click's own display takes four).
        command = exc.ctx.command_path if exc.ctx else "ketadose"
        click.echo(f"ketadose: error: {_safe(exc.format_message())}{_choice_hint(exc)} "
                   f"(see `{command} --help`)", err=True)
        rc = INPUT_ERROR
    except click.ClickException as exc:
        exc.show()
        rc = exc.exit_code
    except KetadoseError as exc:  # raised outside a command (e.g. while parsing)
        click.echo(f"ketadose: error: {_safe(str(exc))}", err=True)
        rc = INPUT_ERROR
    except (PipeClosed, BrokenPipeError):
        # The reader went away (e.g. `| head -1`): not an error of ours, and not "blocked" (1).
        # 141 is what a shell reports for a process killed by SIGPIPE, as git's status is.
        rc = PIPE_CLOSED
    except Terminated as exc:
        rc = 128 + exc.signum
    except click.exceptions.Exit as exc:
        rc = exc.exit_code
    except OSError as exc:
        if exc.errno in _FILE_LIMITS:  # a limit of the system, not our bug (--jobs N takes a
            click.echo(f"ketadose: error: {_files_limit(exc)}", err=True)  # few files a worker)
            rc = INPUT_ERROR
        elif exc.errno in WRITE_FAILURES:  # `plan --help > /dev/full`: click wrote to stdout
            click.echo(f"ketadose: error: {_safe(stdout_failure(exc))}", err=True)
            quiet_stdout()  # what is left in sys.stdout's buffer would fail again at exit
            rc = INPUT_ERROR
        else:
            rc = _internal(exc)
    except Exception as exc:
        rc = _internal(exc)
    if rc == PIPE_CLOSED:
        quiet_stdout()
    sys.exit(rc if isinstance(rc, int) else OK)


def _internal(exc: Exception) -> int:
    """Our bug (exit 3), or the system refusing memory or a thread (a limit: exit 2)."""
    limit = OutOfResources.of(exc)
    if limit is not None:
        click.echo(f"ketadose: error: {_safe(str(limit))}", err=True)
        return INPUT_ERROR
    click.echo(f"ketadose: internal error (please report): {type(exc).__name__}: "
               f"{_safe(str(exc))[:200]}", err=True)
    return INTERNAL


_FILE_LIMITS = (errno.EMFILE, errno.ENFILE)


def _files_limit(exc: OSError) -> str:
    """Too many open files (`ulimit -n`; a --jobs batch with many workers reaches it first)."""
    try:
        import resource

        limit = f"; this process may have {resource.getrlimit(resource.RLIMIT_NOFILE)[0]}"
    except (ImportError, OSError, ValueError):
        limit = ""
    return (f"cannot open another file: {exc.strerror or exc}{limit} (`ulimit -n` raises it; "
            "each --jobs worker takes a few)")
