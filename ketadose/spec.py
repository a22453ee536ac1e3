"""A small declarative schema: one description of a document serves both the
strict checker (typed values + findings with paths) and the JSON Schema export.

Only the node types a regimen or patient needs: text, integer, boolean, enum,
quantity (with allowed unit kinds), list, object (with optional discriminator),
and map (free keys, one value type).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ketadose.errors import UnitError
from ketadose.findings import Finding, path_name
from ketadose.text import suggest
from ketadose.units import CANONICAL, foreign_digit, parse_quantity


@dataclass(frozen=True)
class Node:
    """The expected shape of one value of the regimen format."""

    type: str  # text | integer | boolean | enum | quantity | list | object | map | number
    doc: str = ""
    enum: tuple = ()
    kinds: tuple = ()  # quantity kinds accepted
    item: Node | None = None  # list item / map value
    fields: tuple = ()  # object fields (Field)
    variants: dict = field(default_factory=dict)  # discriminator value -> tuple of Field
    discriminator: str = ""
    min_items: int = 0
    max_items: int = 1000  # a resource bound: no list in a regimen or patient needs more
    minimum: float | None = None  # integers and quantities: inclusive unless exclusive_min
    exclusive_min: bool = False
    maximum: float | None = None
    pattern: str = ""
    nullable: bool = False
    hint: str = ""  # what a value matching `pattern` looks like, for messages
    options: tuple = ()  # one_of: alternative Nodes, chosen by the value's type (text or object)
    # enum: a word that means one option (e.g. 'ketamine' -> 'racemic-ketamine'), and a note
    # said whenever an option is suggested (e.g. that it is a different potency)
    aliases: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)
    # object with a discriminator: what each variant is, with an example (docs and JSON Schema)
    variant_docs: dict = field(default_factory=dict)
    # text: a citation, so a placeholder ('TODO', 'TBD', '?', 'xxx') is refused (issue 16)
    citation: bool = False


@dataclass(frozen=True)
class Field:
    """One field of an object in the regimen format."""

    name: str
    node: Node
    required: bool = False
    when: str = ""  # required only in a case the checker's rules test, e.g. "any dose is per kg"


# Rule ids of the format checks; the rules registry documents them.
SYNTAX, UNKNOWN_KEY, MISSING_KEY, WRONG_TYPE, BAD_UNIT, BAD_VALUE = (
    "KD-V001", "KD-V002", "KD-V003", "KD-V004", "KD-V005", "KD-V006")

_TYPE_NAMES = {"text": "text", "integer": "a whole number", "boolean": "true or false",
               "number": "a number", "list": "a list", "object": "a mapping of keys",
               "map": "a mapping of keys"}


class Checker:
    """Walks data against a Node; returns converted values, collects findings."""

    def __init__(self):
        self.findings: list[Finding] = []

    def fail(self, rule, message, path, at_key=False):
        self.findings.append(Finding(rule, "error", message, "ketadose regimen format v1",
                                     tuple(path), at_key))

    def check(self, node: Node, value, path=()):
        if value is None:
            if node.nullable:
                return None
            self.fail(WRONG_TYPE, f"{_name(path)} is empty; expected {_expect(node)}", path)
            return None
        return getattr(self, "_" + node.type)(node, value, path)

    def _text(self, node, value, path):
        if not isinstance(value, str):
            return self._wrong(node, value, path)
        if not value.strip():
            what = "name where its numbers come from (authors, year, PMID)" if node.citation \
                else f"expected {_expect(node)}"
            self.fail(WRONG_TYPE, f"{_name(path)} is empty; {what}", path)
            return None
        if node.citation and is_placeholder(value):
            self.fail(BAD_VALUE, f"{_name(path)} {value.strip()!r} is a placeholder, not a "
                      "source; name where the numbers come from (authors, year, PMID)", path)
            return None
        foreign = node.pattern and foreign_digit(value)  # a blood pressure, a date
        if foreign:
            self.fail(BAD_VALUE, f"{_name(path)}: {foreign}", path)
            return None
        if node.pattern and not re.fullmatch(node.pattern, value):
            self.fail(BAD_VALUE, f"{_name(path)} {value!r} is not "
                      f"{node.hint or 'of the form ' + node.pattern}", path)
        return value

    def _integer(self, node, value, path):
        foreign = isinstance(value, str) and foreign_digit(value)
        if foreign:  # "٤٠" in a file: said as on every other input path
            self.fail(BAD_VALUE, f"{_name(path)}: {foreign}", path)
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            return self._wrong(node, value, path)
        return self._range(node, value, path, str(value))

    def _number(self, node, value, path):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return self._wrong(node, value, path)
        return self._range(node, value, path, str(value))

    def _range(self, node, value, path, shown, unit=""):
        low, high = node.minimum, node.maximum
        if low is not None and (value <= low if node.exclusive_min else value < low):
            op = "greater than" if node.exclusive_min else "at least"
            self.fail(BAD_VALUE, f"{_name(path)} is {shown}; it must be {op} {low:g}{unit}", path)
            return None
        if high is not None and value > high:
            self.fail(BAD_VALUE, f"{_name(path)} is {shown}; it must be at most {high:g}{unit}", path)
            return None
        return value

    def _boolean(self, node, value, path):
        if not isinstance(value, bool):
            return self._wrong(node, value, path)
        return value

    def _enum(self, node, value, path):
        if not isinstance(value, str) or value not in node.enum:
            alias = node.aliases.get(str(value).strip().lower())
            hint = f"; did you mean {alias!r}?" if alias else suggest(str(value), node.enum)
            hint += "".join(f" ({note})" for option, note in node.notes.items()
                            if repr(option) in hint)
            self.fail(BAD_VALUE, f"{_name(path)} {value!r} is not one of: "
                      f"{', '.join(node.enum)}{hint}", path)
            return None
        return value

    def _quantity(self, node, value, path):
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            return self._wrong(node, value, path)
        try:
            qty = parse_quantity(value, node.kinds)
        except UnitError as exc:
            self.fail(BAD_UNIT, f"{_name(path)}: {exc.message}", path)
            return None
        base = qty.rate() if qty.kind == "amount_over_time" else qty
        amount = qty.amount.value if qty.kind == "amount_over_time" else qty.value
        if amount <= 0 or base.value <= 0:
            self.fail(BAD_VALUE, f"{_name(path)} is {value!r}; it must be greater than zero", path)
            return None
        return qty

    def _list(self, node, value, path):
        if not isinstance(value, list):
            return self._wrong(node, value, path)
        if len(value) < node.min_items:
            self.fail(BAD_VALUE, f"{_name(path)} needs at least {node.min_items} item(s)", path)
        if len(value) > node.max_items:
            self.fail(BAD_VALUE, f"{_name(path)} has {len(value)} items; at most {node.max_items} "
                      "are accepted", path)
            return None
        return [self.check(node.item, v, path + (i,)) for i, v in enumerate(value)]

    def _map(self, node, value, path):
        if not isinstance(value, dict):
            return self._wrong(node, value, path)
        if len(value) > node.max_items:
            self.fail(BAD_VALUE, f"{_name(path)} has {len(value)} entries; at most "
                      f"{node.max_items} are accepted", path)
            return None
        return {k: self.check(node.item, v, path + (k,)) for k, v in value.items()}

    def _object(self, node, value, path):
        if not isinstance(value, dict):
            return self._wrong(node, value, path)
        fields = list(node.fields)
        if node.discriminator:
            tag = value.get(node.discriminator)
            if not isinstance(tag, str) or tag not in node.variants:
                if node.discriminator in value:
                    self.fail(BAD_VALUE, f"{_name(path + (node.discriminator,))} {tag!r} is not "
                              f"one of: {', '.join(node.variants)}{suggest(str(tag), node.variants)}",
                              path + (node.discriminator,))
                else:
                    self.fail(MISSING_KEY, f"{_name(path)} has no '{node.discriminator}' "
                              f"(one of: {', '.join(node.variants)})", path)
                return None
            fields += list(node.variants[tag])
        known = {f.name: f for f in fields}
        out = {}
        for key, item in value.items():
            spec = known.get(key)
            if spec is None:
                hint = suggest(key, known)
                # A key is quoted only when it looks like a field name: a file given by mistake
                # (a password file read as YAML) must not have its lines printed back.
                shown = f" {key!r}" if _FIELD_LIKE.fullmatch(str(key)) else " (not a field name)"
                self.fail(UNKNOWN_KEY, f"unknown key{shown} in {_name(path)}{hint}",
                          path + (key,), at_key=True)
                continue
            out[key] = self.check(spec.node, item, path + (key,))
        for spec in fields:
            if spec.required and spec.name not in value:
                self.fail(MISSING_KEY, f"{_name(path)} is missing the required key "
                          f"{spec.name!r} ({_expect(spec.node)})", path)
        return out

    def _one_of(self, node, value, path):
        """The option whose type fits the value (a text, or a mapping of keys)."""
        want = "object" if isinstance(value, dict) else "text" if isinstance(value, str) else None
        for option in node.options:
            if option.type == want:
                return self.check(option, value, path)
        return self._wrong(node, value, path)

    def _wrong(self, node, value, path):
        got = type(value).__name__
        got = {"str": "text", "int": "a number", "float": "a number", "bool": "true/false",
               "list": "a list", "dict": "a mapping"}.get(got, got)
        hint = ""
        if node.type == "quantity" and isinstance(value, (int, float)) and not isinstance(value, bool):
            hint = f"; add a unit, e.g. '{value} {CANONICAL[node.kinds[0]]}'"
        self.fail(WRONG_TYPE, f"{_name(path)} is {got}; expected {_expect(node)}{hint}", path)
        return None


_name = path_name  # the field a message is about, as messages name it


# What people write for a source they have not found yet: the whole text, or its first word.
_PLACEHOLDER = re.compile(
    r"\s*(?:(?:todo|tbd|tba|fixme|xxx+|tk)\b.*|\?+|-+|\.+|n/?a|none|unknown|source|ref|"
    r"reference|citation( needed)?|placeholder|to do|to be (?:determined|added|confirmed))"
    r"[\s.:!?-]*", re.IGNORECASE | re.DOTALL)


def is_placeholder(text: str) -> bool:
    """Whether a citation is a placeholder rather than a source."""
    return bool(_PLACEHOLDER.fullmatch(text))


def _expect(node: Node) -> str:
    if node.type == "quantity":
        forms = [CANONICAL.get(k, "N mg over T h") for k in node.kinds]
        return "a quantity with a unit (" + ", ".join(dict.fromkeys(forms)) + ")"
    if node.type == "enum":
        return "one of " + ", ".join(node.enum)
    if node.type == "one_of":
        return " or ".join(_expect(o) for o in node.options)
    return _TYPE_NAMES.get(node.type, node.type)


_FIELD_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9_ -]{0,39}")


# ----------------------------------------------------------------- JSON Schema export



def to_json_schema(node: Node) -> dict:
    """The JSON Schema (draft 2020-12) of a Node; units are checked as text patterns."""
    out: dict = {"description": node.doc} if node.doc else {}
    out.update(_SCHEMA_OF[node.type](node))
    if node.nullable:
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def _text_schema(node: Node) -> dict:
    if node.pattern:
        return {"type": "string", "pattern": f"^(?:{node.pattern})$"}
    return {"type": "string", "minLength": 1}


def _number_schema(node: Node) -> dict:
    out: dict = {"type": node.type}
    if node.minimum is not None:
        out["exclusiveMinimum" if node.exclusive_min else "minimum"] = node.minimum
    if node.maximum is not None:
        out["maximum"] = node.maximum
    return out


def _quantity_schema(node: Node) -> dict:
    return {"type": "string", "pattern": r"^\s*[0-9.]+(?:[eE][+-]?[0-9]+)?\s*\S.*$",
            "description": (node.doc + " " if node.doc else "") + "Quantity with a unit: "
            + ", ".join(dict.fromkeys(CANONICAL.get(k, "N mg over T h") for k in node.kinds))}


def item_of(node: Node) -> Node:
    if node.item is None:  # a list or map node is built with its item: our bug otherwise
        raise TypeError(f"a {node.type} node without an item")
    return node.item


def _list_schema(node: Node) -> dict:
    out: dict = {"type": "array", "items": to_json_schema(item_of(node))}
    if node.min_items:
        out["minItems"] = node.min_items
    out["maxItems"] = node.max_items
    return out


def _variants_schema(node: Node) -> dict:
    """An object with a discriminator: the common fields, then one branch per variant."""
    base = _object_schema(node.fields)
    out = {k: v for k, v in base.items() if k != "additionalProperties"}
    out["required"] = sorted(set(base.get("required", [])) | {node.discriminator})
    branches = []
    for tag, fields in node.variants.items():
        branch = _object_schema(tuple(node.fields) + tuple(fields))
        branch["properties"][node.discriminator] = {"const": tag}
        if tag in node.variant_docs:
            branch = {"description": node.variant_docs[tag], **branch}
        branches.append(branch)
    out["oneOf"] = branches
    out["properties"] = {**out.get("properties", {}),
                         node.discriminator: {"enum": list(node.variants)}}
    return out


_SCHEMA_OF = {
    "text": _text_schema,
    "integer": _number_schema,
    "number": _number_schema,
    "boolean": lambda node: {"type": "boolean"},
    "enum": lambda node: {"enum": list(node.enum)},
    "quantity": _quantity_schema,
    "one_of": lambda node: {"anyOf": [to_json_schema(o) for o in node.options]},
    "list": _list_schema,
    "map": lambda node: {"type": "object", "additionalProperties": to_json_schema(item_of(node))},
    "object": lambda node: (_variants_schema(node) if node.discriminator
                            else _object_schema(node.fields)),
}


def _object_schema(fields) -> dict:
    return {
        "type": "object",
        "properties": {f.name: to_json_schema(f.node) for f in fields},
        "required": [f.name for f in fields if f.required],
        "additionalProperties": False,
    }
