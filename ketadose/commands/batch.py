"""Batch runs: `check|plan REGIMEN --patients FILE --format jsonl`, one result line per patient,
in input order, streamed as each is done. A bad record gives an error record and the batch goes
on; the exit code is the worst of all records (2 > 1 > 0)."""

from __future__ import annotations

import functools
import os
import stat
from time import monotonic
from typing import Any

from ketadose.errors import KetadoseError
from ketadose.io.batch import MAX_LINE, RecordError, blocks, expand, open_records, records
from ketadose.io.library import vocabulary
from ketadose.io.regimens import load_regimen
from ketadose.patient import build
from ketadose.render.diag import output, quiet
from ketadose.render.documents.batch import encode as _encode  # noqa: F401 (used by tests)
from ketadose.render.documents.batch import reference as _dumps  # noqa: F401 (commands.check)
from ketadose.render.text import shorten_quoted
from ketadose.screen import status as screen_status


class _Job:
    """Everything one record needs, made once per batch (and once per worker process)."""

    def __init__(self, mode, src, regimen, findings, opts, today):
        from ketadose.commands.check import screen_for
        from ketadose.render.documents.batch import encode
        from ketadose.render.documents.screen import screen_data

        if src is not None:
            src = _Hashed(src)
        self.encode = encode
        self.mode, self.src, self.regimen, self.findings = mode, src, regimen, findings
        self.opts, self.today = opts, today
        self.vocab = vocabulary()
        self.screen_for, self.screen_data = screen_for, screen_data
        self.fast: Any = None  # the same lines, faster: check.BatchLines, plan_lines.PlanLines
        self.fast_plan = None  # plan: the same records, faster (_FastPlans)
        if mode == "check":
            from ketadose.commands.check import BatchLines

            self.fast = BatchLines(regimen, opts.override, today, self.vocab)
        elif mode == "plan":
            from ketadose.commands.plan_lines import PlanLines

            self.fast_plan = _FastPlans(self)
            self.fast = PlanLines(self.fast_plan)  # the same lines from remembered parts

    def line(self, number, data, raw: bool = False) -> tuple:
        """(exit code, the record's JSON line) for one input record or RecordError; the line
        as UTF-8 bytes when ``raw`` (as the output stream's write() would encode it)."""
        if self.fast is not None and not isinstance(data, RecordError):
            done = self.fast(number, data)
            if done is not None:
                code, text = done  # text or bytes (plan_lines.PlanLines)
                if raw:
                    return code, text.encode("utf-8", "backslashreplace") if text.__class__ is str \
                        else text
                return code, text.decode() if text.__class__ is bytes else text
        record = self.record(number, data)
        text = self.encode(record) + "\n"
        return record["exit"], text.encode("utf-8", "backslashreplace") if raw else text

    def record(self, number, data) -> dict:
        """The output record (plain data) for one input record or RecordError."""
        record = {"line": number}
        if isinstance(data, RecordError):
            if data.id is not None:
                record["id"] = data.id
            record.update(exit=2, error=shorten_quoted(str(data)))
        else:
            record["id"] = data.get("id") if isinstance(data.get("id"), str) else None
            done = self.fast_plan(data) if self.fast_plan is not None else None
            if done is not None:
                record.update(done)
                return record
            record.update(_one(self.mode, data, self.vocab, self.regimen, self.src, self.findings,
                               self.opts, self.today, self.screen_for, self.screen_data))
            if "error" in record:
                record["error"] = shorten_quoted(record["error"])
        return record


class _FastPlans:
    """`plan --patients`: the record the general path (_one) makes, faster for the records
    patient.Builder accepts: their fields are built once per distinct value, and the screen's
    rules are remembered by the fields they read (screen.Memo, as for `check --patients`); the
    plan and its safety gate run for every patient, as always. None: the general path decides
    (a FHIR resource, a record build() words an error for, a rule that raises).
    tests/test_batch_fast.py compares the two paths over generated patients."""

    def __init__(self, job):
        from ketadose.commands.check import override_reason
        from ketadose.commands.plan import versions
        from ketadose.gate import GateError
        from ketadose.io.library import limit_library, thresholds
        from ketadose.patient import Builder
        from ketadose.planning import plan_result
        from ketadose.render.documents.plan import batch_record
        from ketadose.rules import screening_reads, screening_rules
        from ketadose.screen import Context, Memo

        self.job, self.plan_result, self.batch_record = job, plan_result, batch_record
        self.GateError = GateError
        self.builder = Builder(job.vocab, job.today)
        self.rules = tuple(screening_rules())
        ctx = Context(job.regimen, job.today, job.vocab, thresholds(), "file")
        self.memo = Memo(ctx, self.rules, screening_reads())
        self.override = override_reason(job.opts.override)  # as screen_for records it
        self.digests: dict = {}
        self.not_fired = [(r.id, "not fired") for r in self.rules]
        self.library, self.versions = limit_library(), versions()
        from ketadose.plan import DosingMemo

        self.dosing = DosingMemo()  # the dosing and its gate verdict per dosing weight

    def __call__(self, data) -> dict | None:
        if "resourceType" in data:
            return None
        keys = self.builder.read(data)
        if keys is None:
            return None
        patient = self.builder.patient(data, keys)
        try:
            screen = self.screen(self.memo.outcomes(keys, patient))
        except Exception:  # the general path screens again and reports it as it does
            return None
        j = self.job
        try:
            return self.batch_record(self.plan_result(
                j.src, j.regimen, j.findings, patient, data, j.opts, screen, self.library,
                self.versions, audit=False, explain=False, memo=self.dosing))
        except KetadoseError as exc:
            return {"exit": 2, "error": exc.message}
        except self.GateError as exc:  # an invariant of the delivered plan failed: our bug
            return {"exit": 3, "error": str(exc)}

    def screen(self, outcomes):
        """The Screen screen.run makes, from the remembered outcomes of every rule: the same
        findings in the same order (screen.run's stable sort by severity and rule id over the
        rules' order is a sort by severity, rule id, rule index and position), the questions
        and the rules evaluated in rule order, the same status. screen.py belongs to the
        screening work: this mirrors its run(), and the differential test holds the two
        together."""
        from ketadose.screen import Screen

        findings: list = []
        missing: list = []
        evaluated = list(self.not_fired)
        digests = self.digests
        for group in outcomes:
            got = digests.get(id(group))
            if got is None or got[0] is not group:  # remembered with the outcome it digests
                if len(digests) >= 4096:
                    digests.clear()
                got = digests[id(group)] = (group, *self.digest(group))
            if got[1]:
                findings += got[1]
            if got[2]:
                missing += got[2]
            for index, entry in got[3]:
                evaluated[index] = entry
        if len(findings) > 1:
            findings.sort(key=lambda x: x[0])
        if len(missing) > 1:
            missing.sort()
        found = tuple(f for _key, f in findings)
        return Screen(screen_status({f.severity for f in found}, missing), found,
                      tuple(m for _i, m in missing), tuple(evaluated), self.override)

    def digest(self, group) -> tuple:
        """A group's outcomes as (findings with their sort keys, questions with their rule
        index, (rule index, evaluated entry))."""
        from ketadose.findings import SCREEN_SEVERITIES

        rank = SCREEN_SEVERITIES.index
        findings, missing, evaluated = [], [], []
        for index, rule, fired, questions in group:
            findings += [((rank(f.severity), f.rule, index, n), f) for n, f in enumerate(fired)]
            missing += [((index, n), (rule.id, q)) for n, q in enumerate(questions)]
            evaluated.append((index, (rule.id, "fired" if fired else
                                      "not assessed" if questions else "not fired")))
        return tuple(findings), tuple(missing), tuple(evaluated)




class _Hashed:
    """The regimen's source with its sha256 computed once (every plan names it)."""

    def __init__(self, src):
        self._src, self.sha256, self.name = src, src.sha256, src.name

    def __getattr__(self, name):
        return getattr(self._src, name)


class _CheckOptions:
    """`check --patients`'s options: the override reason alone."""

    __slots__ = ("override",)

    def __init__(self, override: str | None):
        self.override = override


def make_job(mode, dirs, ref, opts, today, loaded=None) -> _Job:
    """The batch's per-run work, once: the regimen (by reference, or `loaded` as (src, regimen,
    findings)), the options as the commands give them, and the screening date."""
    from ketadose.commands.check import override_reason

    override = override_reason(opts.get("override"))
    if mode == "check":  # the screen's one option; planning (and dosing, ~30 ms) not imported
        opts = _CheckOptions(override)
    else:
        from ketadose.planning import PlanOptions, check_options

        opts = PlanOptions.of({**opts, "override": override})
    src = regimen = findings = None
    if loaded is not None:
        src, regimen, findings = loaded
    elif ref:
        src, regimen, findings = load_regimen(ref, dirs)
    if mode == "plan" and regimen is None:
        raise KetadoseError("plan needs a regimen")
    if mode == "plan":
        check_options(regimen, opts)  # once, before any record: a usage error, not per patient
    return _Job(mode, src, regimen, findings, opts, today)


def run_batch(mode, dirs, ref, path, kind, opts, today, max_line=None, jobs=1) -> int:
    job = make_job(mode, dirs, ref, opts, today)
    stream, kind = open_records(path, kind)
    out = output()
    lines = getattr(out, "whole_lines", None)  # a failed run keeps the whole lines it wrote
    if lines is not None:
        lines()
    progress = _progress(path, stream, out)
    worst = 0
    collector = None
    try:
        # set before the fork too: the workers inherit it (and the objects frozen here are
        # not traversed by their collections either)
        collector = _Collector()
        if jobs > 1:  # the workers decode the records (io.batch.expand)
            from ketadose.commands import parallel

            limit = max_line or MAX_LINE
            # JSON Lines: blocks of CHUNK lines, one block a task; CSV: CHUNK records a task
            items = blocks(stream, kind, limit, parallel.CHUNK)
            return parallel.run_parallel(
                job, _advancing(items, progress) if progress else items, jobs, out,
                functools.partial(expand, max_line=limit), 1 if kind == "jsonl" else None)
        items = records(stream, kind, max_line or MAX_LINE)
        if progress:
            items = _advancing(items, progress)
        # Each line reaches the reader at once when the input is a pipe or a terminal (a
        # record typed or sent now gets its line now); from a file, lines are written in 64 KiB
        # blocks and at least every FLUSH_EVERY seconds (one write per line cost about as much
        # as reading the line)
        eager, last = _may_wait(stream), monotonic()
        write = getattr(out, "write_bytes", None)  # io.writer's streams take UTF-8 as is
        raw = write is not None
        # check: BatchLines's bytes called here, without job.line's layer (a record it does
        # not handle, an error record or anything but a dict, goes through job.line)
        fast = job.fast if job.mode == "check" and raw else None
        for number, data, _size in items:
            code, line = (fast is not None and data.__class__ is dict and fast(number, data)
                          or job.line(number, data, raw))
            if code > worst:
                worst = code
            if write is not None:
                write(line)
            else:
                out.write(line)
            if eager:
                out.flush()
            elif (now := monotonic()) - last >= FLUSH_EVERY:
                out.flush()
                last = now
    except RecordError as exc:  # a bad CSV header: nothing can be read
        raise KetadoseError(str(exc), path) from None
    finally:
        if collector is not None:
            collector.restore()
        if progress:
            progress[0].stop()
        if path != "-":
            stream.close()
    return worst


FLUSH_EVERY = 0.2  # seconds


class _Collector:
    """The cyclic garbage collector set for a batch, and back as it was after it (a --jobs
    worker inherits the setting through the fork and ends with it).

    A batch makes a few objects per patient that live (the memos' entries) among many that
    die at once by reference counting, and no cycles (a FHIR record's import makes a few).
    With the default threshold (a collection every 700 container objects made) the collector
    traversed the young memo entries some 170 times in 20,000 plans, and now and then
    everything alive: 0.15-0.25 s of a 2.8 s run. Here the objects made before the batch
    (modules, the regimen, the libraries) are left out of every collection (gc.freeze), and
    the youngest generation is collected every GEN0 objects. Garbage cycles are still
    collected, only later; memory stays bounded by the memos' own bounds. The output does not
    depend on it."""

    GEN0 = 10_000

    def __init__(self):
        import gc

        self.gc, self.old = gc, gc.get_threshold()
        # gc.unfreeze() cannot tell the objects frozen here from those frozen before (CPython
        # 3.12 freezes 375 of its own at start; a caller of the API may freeze its own): freeze
        # only when nothing is frozen yet, so that restore() leaves the collector as it was
        self.froze = gc.get_freeze_count() == 0
        if self.froze:
            gc.freeze()
        gc.set_threshold(max(self.GEN0, self.old[0]), *self.old[1:])

    def restore(self) -> None:
        self.gc.set_threshold(*self.old)
        if self.froze:
            self.gc.unfreeze()


def _may_wait(stream) -> bool:
    """Whether reading the input may wait for a writer (anything but a regular file)."""
    try:
        return not stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):  # no file descriptor: take it as a pipe
        return True


def _is_terminal(out) -> bool:
    # io.writer's streams guard isatty themselves, but without the CLI's context output() is
    # sys.stdout, which may be None (AttributeError) or closed (ValueError): the guard stays
    try:
        return bool(out.isatty())
    except (AttributeError, OSError, ValueError):
        return False


def _advancing(items, progress):
    for item in items:
        progress[0].advance(progress[1], item[2])
        yield item


def _one(mode, data, vocab, regimen, src, findings, opts, today, screen_for, screen_data):
    if "resourceType" in data:  # a FHIR Bundle or Patient per line (io/fhir_in.py)
        from ketadose.io.fhir_in import record_from_fhir

        try:
            data = record_from_fhir(data, today, "record")
        except KetadoseError as exc:
            return {"exit": 2, "error": str(exc)}
        return {"id": data.get("id"), **_one(mode, data, vocab, regimen, src, findings, opts,
                                            today, screen_for, screen_data)}
    from ketadose.gate import GateError  # plan only; imported here so that check does not load it

    patient, errors = build(data, vocab, today)
    if patient is None:
        return {"exit": 2, "error": errors[0].with_path()
                + (f" ({len(errors)} problems)" if len(errors) > 1 else "")}
    try:
        if mode == "check":
            screen = screen_for(patient, regimen, today, opts.override)
            return {"exit": 1 if screen.blocking else 0, **screen_data(screen)}
        from ketadose.commands.plan import result_for
        from ketadose.render.documents.plan import batch_record

        # the batch's lines carry no audit (and no --explain derivations)
        return batch_record(result_for(src, regimen, findings, patient, data, opts, today,
                                       audit=False))
    except KetadoseError as exc:
        return {"exit": 2, "error": exc.message}
    except GateError as exc:  # an invariant of the delivered plan failed: our bug, no plan
        return {"exit": 3, "error": str(exc)}


def _progress(path, stream, out):
    """A progress bar on stderr when stderr is a terminal and the input is a file. It never
    touches stdout: rich's Live would otherwise redirect sys.stdout through itself. None when
    the output itself goes to a terminal: the lines show the progress there, and the bar,
    drawn on the same screen between two blocks of lines, was left glued to the start of the
    next line ("patients ━━━ 0:00:03{"line":5, ...}")."""
    if path == "-" or quiet() or not os.isatty(2) or _is_terminal(out):
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from ketadose.render.table import console

    bar = Progress(TextColumn("patients"), BarColumn(), TimeRemainingColumn(),
                   console=console(stderr=True), transient=True, redirect_stdout=False,
                   redirect_stderr=False)
    task = bar.add_task("batch", total=os.fstat(stream.fileno()).st_size)
    bar.start()
    return bar, task
