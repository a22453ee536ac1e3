"""Safe YAML/JSON loading that keeps every value's line and column.

PyYAML's own loaders are not used to build Python objects: we compose the node
graph (no constructors run, so no object tags can execute) and convert it
ourselves, which lets us refuse duplicate keys, non-standard tags, aliases that
expand too far, and YAML 1.1 surprises (``no`` -> False, ``010`` -> 8,
``12:30`` -> 750). Scalars follow the YAML 1.2 core schema: only ``true``/
``false``, ``null``/``~``/empty and plain decimal numbers are typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

from ketadose.errors import KetadoseError
from ketadose.text import BIDI, UNSAFE, bidi_message, unsafe_message  # noqa: F401 (used here and re-exported)

MAX_BYTES = 1 << 20  # 1 MiB: a regimen or patient file is a few kB
MAX_NODES = 20_000  # after alias expansion: stops "billion laughs"
MAX_DEPTH = 40

Path = tuple  # of str keys and int indices
_STD = "tag:yaml.org,2002:"


@dataclass(frozen=True)
class Mark:
    """A place in a file (1-based line and column)."""

    line: int  # 1-based
    column: int  # 1-based


@dataclass
class Document:
    """Plain data plus the source position of every value and every key."""

    data: object
    name: str
    values: dict = field(default_factory=dict)  # Path -> Mark of the value
    keys: dict = field(default_factory=dict)  # Path -> Mark of the key

    def where(self, path: Path, key: bool = False) -> str:
        """``name:line:col`` for a path; a missing path falls back to its nearest parent."""
        path = tuple(path)
        while True:
            mark = (self.keys.get(path) if key else None) or self.values.get(path)
            if mark is not None or not path:
                break
            path = path[:-1]
        if mark is None:
            return f"{self.name}:1:1"
        return f"{self.name}:{mark.line}:{mark.column}"


class _Resolver(yaml.resolver.BaseResolver):
    """YAML 1.2 core schema instead of PyYAML's YAML 1.1 implicit types."""


_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789"))
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


class _Loader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser,
              yaml.composer.Composer, _Resolver):
    def __init__(self, stream):
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _Resolver.__init__(self)


_CLoader: type | None = None  # libyaml's loader where PyYAML was built with it
if getattr(yaml, "__with_libyaml__", False):
    from yaml._yaml import CParser  # what yaml.cyaml re-exports

    class _LibyamlLoader(CParser, _Resolver):
        """libyaml's parser and composer with our YAML 1.2 resolver (about 10x faster)."""

        def __init__(self, stream):
            CParser.__init__(self, stream)
            _Resolver.__init__(self)

    _CLoader = _LibyamlLoader


def _at(name: str, mark) -> str:
    """file:line:col of a YAML mark (1-based); the file's start where the parser gave none."""
    if mark is None:  # pragma: no cover - PyYAML's events and errors carry their mark
        return f"{name}:1:1"
    return f"{name}:{mark.line + 1}:{mark.column + 1}"


def _check_depth(text: str, name: str) -> None:
    """Refuse deep nesting before composing (libyaml's composer recurses on the C stack), and
    refuse every explicit tag: ``!!bool yes`` would be read as true, ``!!str 5`` hides a number,
    and whatever a tag resolves to, the file no longer says plainly what it means."""
    depth = 0
    loader = (_CLoader or _Loader)(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            tag = getattr(event, "tag", None)
            if tag is not None and not isinstance(event, (yaml.DocumentStartEvent,
                                                          yaml.DocumentEndEvent)):
                raise KetadoseError(f"explicit tag {tag.replace(_STD, '!!')!r} is not allowed; "
                                    "write the plain value (true/false, a number, text)",
                                    _at(name, event.start_mark))
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise KetadoseError(f"nesting deeper than {MAX_DEPTH} levels",
                                        _at(name, event.start_mark))
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    finally:
        loader.dispose()


_ALLOWED_TAGS = {_STD + t for t in ("str", "int", "float", "bool", "null", "map", "seq")}


def decode(raw: bytes, name: str) -> str:
    if len(raw) > MAX_BYTES:
        raise KetadoseError(f"file is larger than {MAX_BYTES // 1024} KiB; refusing to read it",
                            f"{name}:1:1")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise KetadoseError(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})", f"{name}:{line}:{col}") from None
    if "\x00" in text:
        raise KetadoseError("file contains NUL bytes; is it a binary file?", f"{name}:1:1")
    bidi = UNSAFE.search(text)
    if bidi:
        # Embedding, override and isolate marks reorder what a reader sees ("Trojan Source"):
        # a dose or a warning could read differently from what is computed. Control
        # characters: PyYAML refused most with its own words and no place; said here as a
        # batch and the flags say it.
        line = text.count("\n", 0, bidi.start()) + 1
        col = bidi.start() - (text.rfind("\n", 0, bidi.start()) + 1) + 1
        raise KetadoseError(unsafe_message(bidi), f"{name}:{line}:{col}")
    return text


# JSON's escape of a character beyond the BMP (an emoji): two \u escapes, a surrogate pair,
# not preceded by an odd number of backslashes (an escaped backslash)
_PAIR = re.compile(r"(?<!\\)((?:\\\\)*)\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.I)


_LONE = re.compile(r"(?<!\\)((?:\\\\)*)\\u(d[89a-f][0-9a-f]{2})", re.I)  # after _PAIR


def _joined_pair(match) -> str:
    high, low = int(match.group(2), 16), int(match.group(3), 16)
    return f"{match.group(1)}\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08x}"


def load_text(text: str, name: str) -> Document:
    """Parse one YAML (or JSON) document into a Document, or raise KetadoseError."""
    if "\\u" in text and text.lstrip()[:1] == "{":
        # JSON (every string double-quoted): a surrogate pair escape, which PyYAML refuses
        # ("invalid Unicode character escape code"), becomes YAML's \U escape of the same
        # character, so that a patient file reads what a JSON Lines line of a batch reads
        # (json joins the pair). A lone half stays refused.
        text = _PAIR.sub(_joined_pair, text)
        lone = _LONE.search(text)
        if lone:  # worded as a batch line and a flag word it (text.unsafe_message)
            char = UNSAFE.match(chr(int(lone.group(2), 16)))
            assert char is not None  # every surrogate is UNSAFE
            line = text.count("\n", 0, lone.start(2)) + 1
            col = lone.start(2) - 2 - (text.rfind("\n", 0, lone.start(2)) + 1) + 1
            raise KetadoseError(unsafe_message(char), f"{name}:{line}:{col}")
    try:
        _check_depth(text, name)
        loader = (_CLoader or _Loader)(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if "\t" in problem or "'\\t'" in problem or _tab_at(text, mark):
            problem += " (tabs cannot indent YAML; use spaces)"
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        raise KetadoseError(f"invalid YAML: {problem}", where) from None
    except yaml.YAMLError as exc:
        raise KetadoseError(f"invalid YAML: {str(exc).splitlines()[0]}", name) from None
    except RecursionError:
        raise KetadoseError(f"nesting deeper than {MAX_DEPTH} levels", name) from None
    if node is None:
        raise KetadoseError("the file is empty; expected a mapping of keys", f"{name}:1:1")
    doc = Document(None, name)
    budget = [MAX_NODES]
    doc.data = _convert(node, (), doc, budget, 0)
    return doc


def _tab_at(text: str, mark) -> bool:
    if mark is None:
        return False
    lines = text.split("\n")
    line = lines[mark.line] if mark.line < len(lines) else ""
    return "\t" in line[: mark.column + 1]


def _mark(node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def _convert(node, path, doc: Document, budget, depth):
    budget[0] -= 1
    where = f"{doc.name}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"
    if budget[0] < 0:
        raise KetadoseError(f"more than {MAX_NODES} values (an alias bomb?); refusing", where)
    if depth > MAX_DEPTH:
        raise KetadoseError(f"nesting deeper than {MAX_DEPTH} levels", where)
    if node.tag not in _ALLOWED_TAGS:
        raise KetadoseError(f"tag {node.tag.replace(_STD, '!!')!r} is not allowed; "
                            "only plain YAML values are read", where)
    doc.values[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            kwhere = f"{doc.name}:{key_node.start_mark.line + 1}:{key_node.start_mark.column + 1}"
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _STD + "merge":
                raise KetadoseError("keys must be plain text", kwhere)
            key = key_node.value
            if key in out:
                first = doc.keys[path + (key,)]
                raise KetadoseError(f"duplicate key {key!r} (first at line {first.line}); "
                                    "a second value would silently replace the first", kwhere)
            doc.keys[path + (key,)] = _mark(key_node)
            out[key] = _convert(value_node, path + (key,), doc, budget, depth + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(v, path + (i,), doc, budget, depth + 1) for i, v in enumerate(node.value)]
    return _scalar(node, where)


_INT = re.compile(r"^[-+]?[0-9]{1,30}$")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _scalar(node, where):
    """A scalar by its tag. Explicit tags (``!!int "0x1"``, ``!!float "abc"``) reach here with
    any text, so each conversion is checked rather than trusted; an integer of more than 30
    digits is refused (no quantity needs one, and int() of thousands of digits is slow)."""
    tag, value = node.tag, node.value
    if _SURROGATE.search(value):
        # PyYAML reads "\ud83d\ude00" (JSON's escape of one character beyond the BMP, e.g. an
        # emoji) as two halves; joined here as a JSON reader (a batch line) joins them. A
        # lone half is refused.
        try:
            value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        except UnicodeDecodeError:
            raise KetadoseError("text contains a lone surrogate escape (not a character)",
                                where) from None
    if tag == _STD + "null":
        if value not in ("", "~", "null", "Null", "NULL"):
            raise KetadoseError("a !!null value must be empty, ~ or null", where)
        return None
    if tag == _STD + "bool":
        if value.lower() not in ("true", "false"):
            raise KetadoseError("a !!bool value must be true or false", where)
        return value.lower() == "true"
    if tag == _STD + "int":
        if not _INT.match(value):
            if re.match(r"^[-+]?[0-9]+$", value):
                raise KetadoseError("a whole number with more than 30 digits; refusing", where)
            raise KetadoseError("not a whole number (plain decimal digits only)", where)
        return int(value)
    if tag == _STD + "float":
        low = value.lower()
        if "nan" in low or "inf" in low:
            raise KetadoseError(f"{value[:20]!r} is not a finite number", where)
        try:
            number = float(value)
        except ValueError:
            raise KetadoseError("not a number (plain decimal notation only)", where) from None
        if number != number or number in (float("inf"), float("-inf")):
            # the number as written, as a batch line words it (io.batch._finite)
            raise KetadoseError(f"{value[:20]!r} is not a finite number", where)
        return number
    return value
