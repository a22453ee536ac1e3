"""The precompiled methods of ketadose's dataclasses (ketadose.codecache, issue 18: start-up).

The table must hold, for each text dataclasses compiles for a ketadose class, exactly the code
`exec()` would compile from it; the classes built with the table must be the classes built
without it; and the console script must use it."""

import json
import marshal
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from ketadose import codecache

TABLE = codecache.load()
needs_table = pytest.mark.skipif(not TABLE, reason="no precompiled table for this interpreter")


def _code_of_texts(text: str) -> types.CodeType:
    return compile(text, "<string>", "exec", dont_inherit=True)


def _codes(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


@needs_table
def test_every_entry_is_the_code_exec_compiles_from_its_text():
    assert len(TABLE) > 100
    for text, blob in TABLE.items():
        cached, fresh = marshal.loads(blob), _code_of_texts(text)
        assert cached == fresh, text
        # code equality leaves out the file name, shown in tracebacks
        assert [c.co_filename for c in _codes(cached)] == [c.co_filename for c in _codes(fresh)]
        assert [c.co_firstlineno for c in _codes(cached)] == [
            c.co_firstlineno for c in _codes(fresh)]


def test_a_wrong_entry_would_be_seen():
    """The comparison above tells two texts' codes apart (the test can fail)."""
    a = "def __create_fn__():\n def __eq__(self,other):\n  return (self.a,)==(other.a,)\n return __eq__"
    b = a.replace("self.a", "self.b")
    assert marshal.loads(codecache.compiled(a)) == _code_of_texts(a)
    assert marshal.loads(codecache.compiled(a)) != _code_of_texts(b)


def test_a_text_not_in_the_table_is_compiled_as_before(monkeypatch):
    monkeypatch.setattr(codecache, "_TABLE", {})
    ns: dict = {}
    g = {"__name__": "somewhere"}
    codecache._exec("def f(x):\n return x + 1", g, ns)
    assert ns["f"](1) == 2 and ns["f"].__globals__ is g and ns["f"].__module__ == "somewhere"


def test_a_text_in_the_table_runs_its_code_in_the_given_namespaces(monkeypatch):
    text = "def __create_fn__(k):\n def f(x):\n  return (x, k, NAME)\n return f"
    monkeypatch.setattr(codecache, "_TABLE", {text: codecache.compiled(text)})
    ns: dict = {}
    g = {"__name__": "m", "NAME": "from-globals"}
    codecache._exec(text, g, ns)
    f = ns["__create_fn__"](k=7)
    assert f(1) == (1, 7, "from-globals") and f.__globals__ is g
    assert f.__code__.co_filename == "<string>"


_TABLE_CURRENT = """
import json
from ketadose import codecache
print(json.dumps(codecache.texts_of_ketadose()))
"""


@needs_table
def test_the_table_holds_every_class_of_ketadose():
    """Stale when a dataclass of ketadose was added or changed: its methods are compiled at
    start-up again (correct, but slower). Regenerate the table."""
    r = subprocess.run([sys.executable, "-c", _TABLE_CURRENT], capture_output=True, text=True,
                       timeout=120, check=True)
    texts = json.loads(r.stdout)
    if sorted(TABLE) != texts and os.environ.get("KETADOSE_UPDATE_GOLDEN") == "1":
        path = Path(codecache.__file__).with_name(codecache.table_module().split(".")[-1] + ".py")
        path.write_text(codecache.source(texts), encoding="utf-8")
        return
    missing = [t for t in texts if t not in TABLE]
    assert not missing and sorted(TABLE) == texts, (
        f"ketadose/{codecache.table_module().split('.')[-1]}.py is out of date "
        f"({len(missing)} method texts missing, {len(set(TABLE) - set(texts))} obsolete): a "
        "dataclass changed. Regenerate it with "
        "KETADOSE_UPDATE_GOLDEN=1 pytest tests/test_codecache.py")


_CLASSES = """
import dataclasses, importlib, json, pkgutil, re, sys, types
from ketadose import codecache
if sys.argv[1] == "with":
    codecache.install()
    assert dataclasses.exec is codecache._exec
import ketadose

def describe(code):
    return [code.co_code.hex(), code.co_name, code.co_qualname, code.co_filename,
            code.co_firstlineno, code.co_linetable.hex(), code.co_exceptiontable.hex(),
            code.co_flags, code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount,
            list(code.co_names), list(code.co_varnames), list(code.co_freevars),
            list(code.co_cellvars),
            [describe(c) if isinstance(c, types.CodeType) else shown(c) for c in code.co_consts]]

def shown(value):  # repr without the address, which differs between processes
    return re.sub(r" at 0x[0-9a-f]+", "", repr(value))

out = {}
for info in pkgutil.walk_packages(ketadose.__path__, "ketadose."):
    if info.name.startswith("ketadose._dcc_") or info.name.endswith("__main__"):
        continue
    try:
        module = importlib.import_module(info.name)
    except ImportError:
        continue
    for name, cls in vars(module).items():
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)
                and cls.__module__ == info.name):
            continue
        for attr, fn in vars(cls).items():
            if isinstance(fn, types.FunctionType) and fn.__code__.co_filename == "<string>":
                out[f"{info.name}.{name}.{attr}"] = [
                    describe(fn.__code__), fn.__qualname__, fn.__module__,
                    fn.__globals__ is module.__dict__, shown(fn.__defaults__),
                    [shown(c.cell_contents) for c in fn.__closure__ or ()]]
        out[f"{info.name}.{name}"] = [cls.__doc__, shown(getattr(cls, "__match_args__", None))]
print(json.dumps(out, sort_keys=True))
"""


@needs_table
@pytest.mark.skipif(sys.version_info < (3, 11), reason="describes 3.11 code objects")
def test_classes_built_with_the_table_are_the_classes_built_without():
    got = {}
    for mode in ("with", "without"):
        r = subprocess.run([sys.executable, "-c", _CLASSES, mode], capture_output=True,
                           text=True, timeout=120, check=True)
        got[mode] = json.loads(r.stdout)
    assert len(got["without"]) > 300
    assert got["with"] == got["without"]


_ENTRY = """
import sys
from ketadose import codecache
compiled = []
real = codecache._real_exec
def counting(source, g, ns):
    if type(source) is str and str(g.get("__name__", "")).startswith("ketadose"):
        compiled.append(source)
    return real(source, g, ns)
codecache._real_exec = counting
from ketadose.launch import main
sys.argv = ["ketadose"] + sys.argv[1:]
try:
    main()
except SystemExit as e:
    code = e.code
import dataclasses
print("HOOK" if dataclasses.exec is codecache._exec else "NO-HOOK", len(compiled), code,
      file=sys.stderr)
"""


@needs_table
@pytest.mark.parametrize("args", [
    ["validate", "regimens/crps-schwartzman-2009.yaml"],
    ["simulate", "crps-schwartzman-2009", "--weight", "72kg", "--format", "json"],
    ["plan", "crps-schwartzman-2009", "--weight", "72kg", "--age", "40", "--format", "json"],
])
def test_the_console_script_compiles_no_method_of_ketadose(args):
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-c", _ENTRY, *args], capture_output=True, text=True,
                       timeout=120, check=False, cwd=root)
    assert r.stderr.splitlines()[-1] == "HOOK 0 0", r.stderr[-2000:]


def test_no_table_under_python_O():
    r = subprocess.run([sys.executable, "-O", "-c",
                        "from ketadose import codecache; print(codecache.load() == {})"],
                       capture_output=True, text=True, timeout=60, check=True)
    assert r.stdout.strip() == "True"


def test_pyyamls_pattern_and_its_quick_equivalent_match_the_same_characters():
    import re

    every = "".join(map(chr, range(0x110000)))
    # re.UNICODE (the default for text) keeps the test's compilation out of re's cache entry
    yaml_own = re.compile(codecache.YAML_NON_PRINTABLE, re.UNICODE)
    quick = re.compile(codecache.NOT_ALLOWED_IN_YAML, re.UNICODE)
    assert yaml_own.pattern != quick.pattern
    found = [m.start() for m in yaml_own.finditer(every)]
    assert len(found) > 2000
    assert [m.start() for m in quick.finditer(every)] == found
    # and the search PyYAML's reader makes: the first such character and where it is
    for cp in (0, 0x85, 0x86, 0xA0, 0xD7FF, 0xD800, 0xFFFD, 0xFFFE, 0x10000, 0x10FFFF):
        text = "ab" + chr(cp) + "\x01"
        a, b = yaml_own.search(text), quick.search(text)
        assert (a.start(), a.group()) == (b.start(), b.group())


_SEED = """
import sys
from ketadose import codecache
codecache.install()
import yaml
print(yaml.reader.Reader.NON_PRINTABLE.pattern == codecache.NOT_ALLOWED_IN_YAML)
import ast
tree = ast.parse(open(yaml.reader.__file__, encoding="utf-8").read())
patterns = [node.value.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "NON_PRINTABLE"]
print(patterns == [codecache.YAML_NON_PRINTABLE])
"""


@pytest.mark.skipif(not (3, 9) <= sys.version_info[:2] <= (3, 13), reason="re's cache layout")
def test_pyyamls_reader_gets_the_quick_equivalent():
    """Fails when PyYAML changes its pattern: update YAML_NON_PRINTABLE (and the equivalent)."""
    r = subprocess.run([sys.executable, "-c", _SEED], capture_output=True, text=True,
                       timeout=60, check=True)
    assert r.stdout.split() == ["True", "True"], r.stdout
