"""--explain: derivations, limits consulted and rules evaluated, as data and as text; and
findings as CDS Hooks cards."""

from __future__ import annotations

import re

from ketadose.render.numbers import machine

_PMID = re.compile(r"PMID\s*(\d{6,9})")
_DOI = re.compile(r"doi:\s*(10\.\S+?)(?=[;,)\s]|$)")


def why_data(whys) -> list:
    return [{"what": w.what, "expression": w.expression,
             "value": machine(w.value, 6), "unit": w.unit,
             "source": w.source} for w in whys]


def value_text(value) -> str:
    """A value as a clinician reads it, never a Python repr: numbers as the tables show them,
    mappings as 'key value, ...', lists joined with '; ', yes/no, 'not given'."""
    from ketadose.units import display_number

    if value is None:
        return "not given"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return display_number(value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {value_text(v)}" for k, v in value.items()) or "none"
    if isinstance(value, (list, tuple)):
        return "; ".join(value_text(v) for v in value) or "none"
    return str(value)


def why_text(whys, indent="  ") -> list:
    lines = []
    for w in whys:
        value = "" if w.value is None else f" = {value_text(w.value)} {w.unit}"
        src = f"  [{w.source}]" if w.source else ""
        lines.append(f"{indent}{w.what}: {w.expression}{value}{src}")
    return lines


def rules_evaluated(screen) -> list:
    from ketadose.rules import registry

    reg = registry()
    return [{"rule": rid, "name": reg[rid].name if rid in reg else rid, "status": status,
             "source": reg[rid].source if rid in reg else ""} for rid, status in screen.evaluated]


def inputs_used(patient_data: dict, flag_keys) -> list:
    return [{"input": key, "value": value, "from": "command-line flag" if key in flag_keys
             else "patient file"} for key, value in patient_data.items()]


def card_source(source: str) -> dict:
    out = {"label": _shorten(source, 300)}
    pmid = _PMID.search(source)
    doi = _DOI.search(source)
    if pmid:
        out["url"] = f"https://pubmed.ncbi.nlm.nih.gov/{pmid.group(1)}/"
        out["pmid"] = pmid.group(1)
    elif doi:
        out["url"] = f"https://doi.org/{doi.group(1)}"
    return out


def _shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a space so that no number (a PMID, a dose) is cut
    into a different one; the cut is marked with an ellipsis."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    cut = head.rfind(" ")
    return (head[:cut] if cut > 0 else head).rstrip(" ;,") + "…"


def summary(text: str, limit: int = 139) -> str:
    first = text.split("; ")[0] if len(text) > limit else text
    if len(first) <= limit:
        return first
    cut = first[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def cards(findings) -> list:
    """CDS Hooks cards: summary under 140 characters, indicator, source, detail."""
    return [_card(f) for f in findings]


_cards: dict = {}


def _card(f) -> dict:
    """One finding's card, made once per Finding object (a batch's screen reuses its findings
    from patient to patient); shared between documents, which no renderer changes."""
    got = _cards.get(id(f))
    if got is None or got[0] is not f:
        if len(_cards) >= 4096:
            _cards.clear()
        got = _cards[id(f)] = (f, {
            "uuid": None, "summary": summary(f"{f.title + ': ' if f.title else ''}{f.message}"),
            "indicator": f.indicator, "source": _source(f.source),
            "detail": f.message + (f" (UNVERIFIED basis: {f.unverified})" if f.unverified else ""),
            "rule": f.rule, "severity": f.severity})
    return got[1]


_sources: dict = {}


def _source(source: str) -> dict:
    """card_source, once per source text (a few dozen in the rules and templates; a batch
    makes new findings with the same sources for every patient)."""
    got = _sources.get(source)
    if got is None:
        got = card_source(source)
        if len(source) <= 2048:  # bounded: 4,096 texts of at most 2 KiB
            if len(_sources) >= 4096:
                _sources.clear()
            _sources[source] = got
    return got


def render_plan_explain(result, stream) -> None:
    """`plan --explain` below the tables: the derivation of every number of a PlanResult."""
    from ketadose.render.table import console, styled

    out = console(file=stream)
    plan = result.plan
    out.print(styled("Explanation (--explain): how every number was derived", "bold"))
    lines = ["Inputs used:"]
    for item in inputs_used(result.patient_data, result.options.from_flags):
        lines.append(f"  {item['input']}: {value_text(item['value'])} (from the {item['from']})")
    conc = plan.concentration_mg_ml
    lines.append("  concentration: " + (f"{value_text(conc)} mg/mL (from "
                                         f"{plan.concentration_origin})" if conc is not None
                                         else "not given"))
    lines.append("Dosing weight:")
    lines += why_text(plan.weight.derivation)
    for p in plan.phases:
        lines.append(f"Phase {p.name}:")
        lines += why_text(p.derivation)
    lines.append("Totals:")
    lines += why_text(plan.totals_derivation)
    lines.append("Limits consulted:")
    for c in plan.consulted:
        soft, hard = ("none" if c[k] is None else value_text(c[k]) for k in ("soft", "hard"))
        if c.get("direction") == "min":
            bound = f"soft < {soft}, hard {'<=' if c['hard_inclusive'] else '<'} {hard}"
        else:
            bound = f"soft {soft}, hard {'>=' if c['hard_inclusive'] else '>'} {hard}"
        if c.get("kind") == "guard":
            bound += " (device/typing-error guard, not clinical)"
        lines.append(f"  {c['rule']} {c['what']}: {value_text(c['value'])} {c['unit']} vs {bound} -> "
                     f"{c['outcome']}  [{c['source']}]"
                     + (f" UNVERIFIED: {c['unverified']}" if c["unverified"] else "")
                     + (f" ({c['setting_note']})" if c.get("setting_note") else ""))
    lines.append("Rules evaluated:")
    for r in rules_evaluated(result.screen):
        lines.append(f"  {r['rule']} {r['name']}: {r['status']}  [{r['source']}]")
    out.print("\n".join(lines), markup=False, highlight=False)
