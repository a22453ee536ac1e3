"""Precompiled code for the methods that `dataclasses` writes for ketadose's classes (issue 18:
start-up).

`@dataclass` writes the source text of each class's `__init__`, `__repr__`, `__eq__`,
`__hash__`, `__setattr__`, ... and compiles it with `exec()` every time the program starts:
about 200 compilations on the path of `validate` alone, some 25 ms of a 140 ms run, the largest
part of its start-up after the interpreter and PyYAML. `install()` gives dataclasses' `exec()`
the code object compiled beforehand from exactly the same text: a table, generated for this
interpreter's bytecode, that maps each text to its code object in marshal form
(ketadose/_dcc_<cache tag>.py; `python -m ketadose.codecache` writes it). The rest is
unchanged: dataclasses still builds every class itself, and executes the code in the same
namespaces as before.

Why this is exact: a text is looked up as a whole, so a hit runs the code that `exec()` would
have compiled from that very text (tests/test_codecache.py compiles every entry again and
compares the code objects); the table is used only when the interpreter's bytecode magic number
and optimisation level are the ones it was made with. Any other text (a class changed since the
table was made, another interpreter, a class of another package) is compiled by `exec()` as
before: a stale or missing table costs time, never behaviour. The test fails when the table
lacks a class of ketadose (regenerate it with `KETADOSE_UPDATE_GOLDEN=1 pytest
tests/test_codecache.py`).

Installed by the console script (ketadose.launch) and by ketadose.api before they import the
modules that define dataclasses; it replaces the name `exec` in the dataclasses module only.
"""

from __future__ import annotations

import builtins
import marshal
import sys

_real_exec = builtins.exec
_TABLE: dict = {}


def _exec(source, globals, locals):
    """dataclasses' exec(text, globals, namespace), with the text's code from the table."""
    if type(source) is str:
        blob = _TABLE.get(source)
        if blob is not None:
            source = marshal.loads(blob)
    return _real_exec(source, globals, locals)


def table_module() -> str:
    """The name of the table's module for this interpreter (e.g. ketadose._dcc_cpython_311)."""
    return "ketadose._dcc_" + str(sys.implementation.cache_tag).replace("-", "_")


def magic() -> bytes | None:
    """This interpreter's bytecode magic number (the one in its .pyc files), or None."""
    try:
        from importlib._bootstrap_external import MAGIC_NUMBER  # frozen, already loaded
    except ImportError:  # pragma: no cover - not CPython
        return None
    return bytes(MAGIC_NUMBER)


def load() -> dict:
    """The table for this interpreter ({} when there is none or it was made for another)."""
    if sys.flags.optimize or not sys.implementation.cache_tag:
        return {}
    try:
        module = __import__(table_module(), fromlist=["CODE"])
    except ImportError:
        return {}
    if module.MAGIC != magic():
        return {}
    return module.CODE


# PyYAML's reader compiles, when yaml is imported, a class of the characters YAML allows whose
# ranges span most of Unicode; re's compiler walks such ranges a character at a time (about
# 9 ms, the largest single part of `import yaml`). The complement written out (the characters
# YAML does not allow) compiles in under 1 ms and matches exactly the same characters: it is
# put in re's cache under PyYAML's pattern, so that yaml.reader's re.compile() returns it.
# tests/test_codecache.py compares the two over every code point, and checks that PyYAML's
# reader gets it. (The reader is used only without libyaml; both are exact either way.)
YAML_NON_PRINTABLE = ("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD"
                      "\U00010000-\U0010ffff]")
NOT_ALLOWED_IN_YAML = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]"


def seed_patterns() -> None:
    """Put the quick equivalent of PyYAML's NON_PRINTABLE in re's cache (before yaml is
    imported; re's cache is keyed by (type, pattern, flags) from Python 3.9 to 3.13)."""
    import re

    cache = getattr(re, "_cache", None)
    if ("yaml.reader" in sys.modules or not isinstance(cache, dict)
            or not (3, 9) <= sys.version_info[:2] <= (3, 13)):
        return
    cache.setdefault((str, YAML_NON_PRINTABLE, 0), re.compile(NOT_ALLOWED_IN_YAML))


def install() -> None:
    """Let dataclasses take its methods' code from the table (no-op without a table), and
    seed re's cache with PyYAML's pattern."""
    seed_patterns()
    import dataclasses

    if getattr(dataclasses, "exec", None) is _exec:
        return
    table = load()
    if table:
        _TABLE.update(table)
        dataclasses.exec = _exec  # type: ignore[attr-defined]


def compiled(text: str) -> bytes:
    """The marshal form of the code `exec(text, ...)` runs: compiled as exec() compiles a text
    (file name "<string>", mode "exec", no `from __future__` flag: dataclasses has none)."""
    return marshal.dumps(compile(text, "<string>", "exec", dont_inherit=True))


def texts_of_ketadose() -> list:
    """Every text dataclasses compiles for ketadose's classes: imports every module of the
    package in this process, so call it in a fresh interpreter (python -m ketadose.codecache)."""
    import dataclasses
    import importlib
    import pkgutil

    seen: dict = {}

    def recording(source, globals, locals):
        if type(source) is str and str(globals.get("__name__", "")).startswith("ketadose"):
            seen[source] = None
        return _real_exec(source, globals, locals)

    dataclasses.exec = recording  # type: ignore[attr-defined]
    try:
        import ketadose

        for info in pkgutil.walk_packages(ketadose.__path__, "ketadose."):
            if info.name.startswith("ketadose._dcc_") or info.name.endswith("__main__"):
                continue
            try:
                importlib.import_module(info.name)
            except ImportError:  # an optional extra that is not installed
                continue
    finally:
        del dataclasses.exec  # type: ignore[attr-defined]
    return sorted(seen)


def source(texts: list) -> str:
    """The text of the table's module for this interpreter."""
    lines = [
        f'"""Code of the methods dataclasses writes for ketadose\'s classes, compiled for '
        f"{sys.implementation.cache_tag}\n"
        "(see ketadose/codecache.py). Generated by `python -m ketadose.codecache`; do not edit "
        'by hand."""\n',
        "# ruff: noqa\n",
        f"MAGIC = {magic()!r}\n",
        "CODE = {",
    ]
    for text in texts:
        lines.append(f"    {text!r}:\n        {compiled(text)!r},")
    lines.append("}\n")
    return "\n".join(lines)


def main() -> None:
    import os

    texts = texts_of_ketadose()
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        table_module().split(".")[-1] + ".py")
    with open(path, "w", encoding="utf-8") as out:
        out.write(source(texts))
    print(f"{path}: {len(texts)} texts")


if __name__ == "__main__":
    main()
