"""`ketadose check`: screen a patient (for a regimen, or for ketamine in general)."""

from __future__ import annotations

import datetime as dt

from ketadose import __version__
from ketadose.errors import KetadoseError
from ketadose.io.patients import load_patient
from ketadose.io.regimens import load_regimen
from ketadose.render.diag import emit
from ketadose.render.documents.screen import screen_data
from ketadose.rules import screening_rules
from ketadose.screen import Context, Memo, run

MIN_REASON = 10  # printable characters, spaces not counted


def override_reason(text: str | None) -> str | None:
    """The override reason as it will be recorded and shown: a control character, a
    bidirectional mark or an invalid byte refused (text.UNSAFE, as in every text of a patient
    record); zero-width characters dropped and white space runs made one space; at least
    MIN_REASON visible characters or an input error."""
    if text is None:
        return None
    from ketadose.text import UNSAFE, printable, unsafe_message, visible_length

    found = UNSAFE.search(text)
    if found:
        # refused, not stripped: printable() dropped them (an escape sequence whole), and the
        # audit recorded a reason that was not what was typed (an argv byte that is not UTF-8
        # too, as a lone surrogate)
        raise KetadoseError(f"--override: {unsafe_message(found)}")

    if visible_length(text) < MIN_REASON:
        raise KetadoseError(f"--override needs a reason a clinician can read: at least {MIN_REASON} "
                            "printable characters (spaces, control and invisible characters do "
                            "not count)")
    return printable(text)


def screen_for(patient, regimen, today: dt.date, override: str | None, interface: str = "file"):
    """The screen; ``interface`` ("file" or "flags", ketadose.questions) words its questions."""
    from ketadose.io.library import thresholds, vocabulary

    return run(patient, Context(regimen, today, vocabulary(), thresholds(), interface),
               screening_rules(), override_reason(override))


def check_document(src, regimen, patient, patient_data, override, today, reproducible=False,
                   explain=False, from_flags=(), fmt="json"):
    """The check as (document, screen), computed by the core; shared by `check` and `verify`."""
    from ketadose.audit import audit_block
    from ketadose.io.library import limit_library, thresholds, vocabulary
    from ketadose.questions import interface
    from ketadose.render.explain import cards, inputs_used, rules_evaluated

    screen = screen_for(patient, regimen, today, override, interface(patient_data, from_flags))
    data = {"ketadose_version": __version__,
            "regimen": {"id": regimen.id, "sha256": src.sha256} if regimen else None,
            "patient": {"id": patient.id}, "date": today.isoformat(), **screen_data(screen)}
    data["cards"] = cards(screen.findings)
    if explain:
        data["explain"] = {"inputs": inputs_used(patient_data, set(from_flags)),
                           "rules_evaluated": rules_evaluated(screen)}
    data["audit"] = audit_block(src, patient_data, {
        "command": "check", "date": today.isoformat(), "override": override,
        "explain": bool(explain), "format": fmt, "patient_from_flags": sorted(from_flags)},
        limit_library().version, vocabulary().version, reproducible,
        thresholds_version=thresholds().version)
    return data, screen


def run_check(dirs, regimen_ref, patient_path, flags, override, today, fmt,
              reproducible=False, explain=False) -> int:
    from ketadose.io.patients import flags_to_data

    regimen = src = None
    override = override_reason(override)
    if regimen_ref:
        src, regimen, _findings = load_regimen(regimen_ref, dirs)
    patient, patient_data = load_patient(patient_path, flags, today)
    data, screen = check_document(src, regimen, patient, patient_data, override, today,
                                  reproducible, explain, set(flags_to_data(flags)), fmt)
    from ketadose.render.data import to_json, to_yaml  # not for a batch (plan's start-up)

    if fmt == "json":
        emit(to_json(data))
    elif fmt == "yaml":
        emit(to_yaml(data))
    else:
        from ketadose.render.screen import render_explain, render_screen

        render_screen(screen, regimen)
        if explain:
            render_explain(data["explain"])
    return 1 if screen.blocking else 0



_SEVERITY_BITS = {"absolute": 1, "relative": 2, "caution": 4}


class _Outcome:
    """A rule group's outcome as BatchLines keeps it: its findings and questions encoded, with
    their sort keys, and the bits of its findings' severities. One object per distinct
    outcome (BatchLines's ``same``), hashed and compared by identity: a tuple of them is a
    screen's key."""

    __slots__ = ("fired", "questions", "severities")

    def __init__(self, fired: tuple, questions: tuple, severities: int):
        self.fired, self.questions, self.severities = fired, questions, severities


class BatchLines:
    """`check --patients`: the JSON line of each record, the same bytes as the general batch
    path (commands.batch), made faster for the records it handles: the record's fields are
    built once per distinct value (patient.Builder), each rule's outcome is remembered by the
    values of the fields it reads (screen.Memo), with its findings already encoded, and the
    line is put together from those pieces. A record it does not handle (a FHIR resource, a
    record build() refuses, a rule that raises) gives None: the general path makes that line,
    with its error. tests/test_screen_batch.py compares both paths byte for byte.
    """

    def __init__(self, regimen, override, today: dt.date, vocab):
        from ketadose.commands.batch import _dumps
        from ketadose.findings import SCREEN_SEVERITIES
        from ketadose.io.library import thresholds
        from ketadose.patient import Builder
        from ketadose.render.documents.screen import finding_data, question_data
        from ketadose.rules import screening_reads

        self.override = override_reason(override)  # as screen_for records it
        self.builder = Builder(vocab, today)
        rank = SCREEN_SEVERITIES.index

        texts: dict = {}  # a finding (a frozen value) and its JSON: most recur, in new groups

        def encoded(f) -> str:
            text = texts.get(f)
            if text is None:
                if len(texts) >= 4096:
                    texts.clear()
                text = texts[f] = _dumps(finding_data(f))
            return text

        def prepare(results):
            """A group of rules' outcomes as (findings, questions, severities): findings with
            the keys screen.run sorts by (severity, rule id) then rule order and position (the
            order its stable sort keeps), each encoded as the document encodes it."""
            fired: list = []
            questions: list = []
            severities = 0
            for index, rule, found, asked in results:
                fired += [((rank(f.severity), f.rule, index, n), encoded(f))
                          for n, f in enumerate(found)]
                questions += [((index, n), _dumps(question_data(rule.id, q)))
                              for n, q in enumerate(asked)]
                for f in found:
                    severities |= _SEVERITY_BITS.get(f.severity, 0)
            got = (tuple(fired), tuple(questions), severities)
            kept = same.get(got)
            if kept is None:
                if len(same) >= 4096:
                    same.clear()
                kept = same[got] = _Outcome(*got)
            return kept

        # equal outcomes of a group as one object (age 40 and age 41 usually screen alike), so
        # that a whole screen recurs as the same objects: its line is kept by their identities
        same: dict = {}
        self.lines: dict = {}

        ctx = Context(regimen, today, vocab, thresholds(), "file")
        self.memo = Memo(ctx, screening_rules(), screening_reads(), prepare)
        from json.encoder import encode_basestring  # what json.dumps does with a str

        from ketadose.render.text import json_safe

        def text(value: str) -> bytes:
            """A text as the batch writer writes it: json.dumps's escapes, then json_safe's
            (for ASCII only DEL: json_safe leaves other ASCII text as it is), as UTF-8."""
            out = encode_basestring(value)
            if not out.isascii() or "\x7f" in out:
                out = json_safe(out)
            return out.encode("utf-8", "backslashreplace")

        self._text = text
        self._override = _dumps(self.override)

    def __call__(self, number: int, data) -> tuple | None:
        """(exit code, line as UTF-8 bytes) or None when the general path must make the
        line."""
        if "resourceType" in data:
            return None
        keys = self.builder.read(data)
        if keys is None:
            return None
        outcomes = self.memo.kept(keys)  # every group's outcome remembered: no Patient made
        if outcomes is None:
            try:
                outcomes = self.memo.outcomes(keys, lambda: self.builder.patient(data, keys))
            except Exception:  # the general path runs the rules again and reports it as it does
                return None
        key = tuple(outcomes)  # _Outcome objects: hashed and compared by identity
        got = self.lines.get(key)
        if got is None:
            if len(self.lines) >= 4096:
                self.lines.clear()
            # the key holds the outcomes: while the line is kept, no other object can have
            # their identities
            code, tail = self._tail(outcomes)
            got = self.lines[key] = (code, tail.encode("utf-8", "backslashreplace"))
        ident = data.get("id")
        return got[0], b'{"line":%d,"id":%b,%b' % (
            number, b"null" if ident is None else self._text(ident), got[1])

    def _tail(self, outcomes) -> tuple:
        """(exit code, the line after the record's number and id) of the groups' outcomes."""
        fired, missing, severities = [], [], 0
        for outcome in outcomes:
            if outcome.fired:
                fired += outcome.fired
                severities |= outcome.severities
            if outcome.questions:
                missing += outcome.questions
        absolute = bool(severities & 1)
        blocking = bool(severities & 3)
        status = ("contraindicated" if blocking else "incomplete" if missing else
                  "caution" if severities & 4 else "clear")
        if len(fired) > 1:
            fired.sort()
        if len(missing) > 1:
            missing.sort()
        override = self.override
        stops = blocking and (not override or absolute)
        applied = bool(override) and blocking and not absolute
        code = 1 if stops else 0
        return code, (
            f'"exit":{code},"status":"{status}","blocking":{"true" if stops else "false"},'
            f'"findings":[{",".join([x[1] for x in fired])}],'
            f'"not_assessed":[{",".join([x[1] for x in missing])}],'
            f'"override":{self._override},"override_applied":{"true" if applied else "false"}}}\n')
