"""docs/regimen-format.md, written from the format's one description (ketadose/regimen_format.py).

`ketadose schema regimen --format markdown` writes it; tests/test_format_doc.py fails when the
committed file differs, so the reference cannot drift from the checker and the JSON Schema.
Every key, type, unit, range, option and description comes from the spec's nodes; the rule list
from the rules registry; the phase kinds a route allows from rule KD-V011's table.
"""

from __future__ import annotations

import textwrap
from typing import TextIO

from ketadose.spec import Field, Node, item_of

REGENERATE = "ketadose schema regimen --format markdown -o docs/regimen-format.md --force"


def write_format_reference(stream: TextIO) -> None:
    """The regimen format reference (Markdown) to ``stream``."""
    from ketadose import regimen_format as fmt

    regimen = fmt.REGIMEN
    fields = {f.name: f for f in regimen.fields}
    out = [f"# Regimen format v{fmt.FORMAT_VERSION}", "",
           f"<!-- Generated from ketadose/regimen_format.py by `{REGENERATE}`. "
           "Edit that file, not this one: tests/test_format_doc.py fails when they differ. -->",
           "", _wrap(fmt.GUIDE["intro"]), "", "## Top level", ""]
    out += _table(regimen.fields)
    for name in fmt.SECTIONS:
        out += _section(name, fields[name])
    out += _phases(fmt.PHASE)
    out += _rules(fmt.GUIDE["limits"])
    out += ["## A minimal example", "", "```yaml", fmt.EXAMPLE.rstrip("\n"), "```", ""]
    stream.write("\n".join(out))


def _section(name: str, field: Field) -> list[str]:
    node = item_of(field.node) if field.node.type == "list" else field.node
    title = name.replace("_", " ").capitalize()
    lines = [f"## {title}", ""]
    if field.node.doc:
        lines += [_wrap(_sentence(field.node.doc)), ""]
    if node.type == "object":
        lines += _table(node.fields)
    else:
        lines += [_value(node), ""]
    return lines


def _phases(phase: Node) -> list[str]:
    lines = ["## Phases", "", _wrap(_sentence(phase.doc) + " Every phase has these keys:"), ""]
    lines += _table(phase.fields, phase.discriminator)
    for kind, fields in phase.variants.items():
        lines += [f"### `{kind}`", ""]
        if kind in phase.variant_docs:
            lines += [_wrap(phase.variant_docs[kind]), ""]
        lines += _table(fields)
    from ketadose.rules.regimen import ROUTE_KINDS

    allowed = "; ".join(f"{route}: {', '.join(k for k in phase.variants if k in kinds)}"
                        for route, kinds in ROUTE_KINDS.items())
    lines += [_wrap(f"Phase kinds each route allows (KD-V011): {allowed}."), ""]
    return lines


def _rules(limits: str) -> list[str]:
    from ketadose.rules import format as format_rules
    from ketadose.rules import regimen as regimen_rules

    lines = ["## Rules and limits", "",
             "`ketadose validate` reports these rules (`ketadose rules ID` explains one, with "
             "its source):", "", "| rule | severity | what it finds |", "|---|---|---|"]
    rules = sorted(format_rules.RULES + regimen_rules.RULES, key=lambda r: r.id)
    lines += [f"| {r.id} | {r.severity} | {_cell(r.summary)} |" for r in rules]
    return lines + ["", _wrap(limits), ""]


def _table(fields, discriminator: str = "") -> list[str]:
    rows = ["| key | required | value |", "|---|---|---|"]
    for f in fields:
        # the discriminator is required by the checker though its Field is not marked so
        required = (f"when {f.when}" if f.when else
                    "yes" if f.required or f.name == discriminator else "no")
        rows.append(f"| `{f.name}` | {required} | {_cell(_value(f.node))} |")
    return rows + [""]


def _value(node: Node) -> str:
    """What a value is: its type, units, range or options, then its description."""
    kind = _kind(node) + (" (or null)" if node.nullable else "")
    return f"{kind}: {_sentence(node.doc)}" if node.doc else kind


def _kind(node: Node) -> str:
    if node.type == "list":
        size = f", at least {node.min_items}" if node.min_items else ""
        return f"list of {_kind(item_of(node))} (at most {node.max_items}{size})"
    return _KINDS[node.type](node)


def _quantity(node: Node) -> str:
    from ketadose.units import UNITS_OF_KIND

    if node.kinds == ("amount_over_time",):
        return "an amount over a time, 'N mg over T h'"
    return "quantity in " + "; or ".join(UNITS_OF_KIND[k] for k in node.kinds)


def _number(node: Node) -> str:
    low, high = node.minimum, node.maximum
    if low is not None and low == high:
        return f"`{low:g}`"
    if low is not None and high is not None:
        return f"whole number, {low:g} to {high:g}"
    return "whole number" + (f", at least {low:g}" if low is not None else "")


def _object(node: Node) -> str:
    keys = ", ".join(f.name + ("" if f.required or f.name == node.discriminator else "?")
                     for f in node.fields)
    more = f" and the keys of its `{node.discriminator}`" if node.discriminator else ""
    return "{" + keys + "}" + more


def _map(node: Node) -> str:
    return "mapping {key: " + _kind(item_of(node)) + "}" + (
        f" (at most {node.max_items})" if node.max_items < Node("map").max_items else "")


_KINDS = {
    "text": lambda n: n.hint or "text",
    "integer": _number,
    "number": lambda n: "number",
    "boolean": lambda n: "true or false",
    "enum": lambda n: " \\| ".join(f"`{o}`" for o in n.enum),
    "quantity": _quantity,
    "object": _object,
    "map": _map,
}


def _sentence(text: str) -> str:
    return text if text.endswith((".", ")", "`")) else text + "."


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=100, break_long_words=False, break_on_hyphens=False)


def _cell(text: str) -> str:
    """Table cells are one line; a pipe would end the cell."""
    return " ".join(text.split()).replace(" | ", " \\| ")
