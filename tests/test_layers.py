"""The layer contract, checked over the real import graph (every import statement, at any depth
of a module, including the lazy ones inside functions).

    cli.py, __main__.py          the entry point (launch.py and _help.py: the console script's
                                 stored --help/--version, before click is imported; fastpath.py:
                                 validate and simulate without click; api.py: the
                                 Python entry point, beside the command line)
    commands/                    click commands: load, call the core, pick a renderer, exit code
    render/    io/               renderers (result, stream) and loaders; neither imports the other
    core: everything else        units, limits, regimen, patient, rules/, screen, dosing, plan,
                                 gate, pk/ ... : pure, no I/O, imports only the core

A module may import its own layer and the layers below it, never one above.
"""

from __future__ import annotations

import ast
from pathlib import Path

import ketadose

PACKAGE = Path(ketadose.__file__).parent
RANK = {"core": 0, "io": 1, "render": 1, "commands": 2, "entry": 3}

# Known breaches, each to be removed by the change that fixes it (the test fails when an entry
# here no longer happens, so the list cannot go stale).
KNOWN: set[tuple[str, str]] = set()


def layer(module: str) -> str:
    parts = module.split(".")
    if parts[:2] in (["ketadose", "cli"], ["ketadose", "__main__"], ["ketadose", "launch"],
                     ["ketadose", "_help"], ["ketadose", "api"],
                     ["ketadose", "fastpath"]):
        return "entry"
    if len(parts) > 1 and parts[1] in ("commands", "render", "io"):
        return parts[1]
    if len(parts) > 1 and parts[1] in ("serve",):
        return "commands"  # the CDS Hooks service sits beside the commands
    return "core"


def imports() -> set[tuple[str, str]]:
    edges = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                # the package uses absolute imports only (checked here)
                assert not node.level, f"{module}: relative import"
                base = node.module or ""
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                if name.startswith("ketadose"):
                    edges.add((module, name))
    return edges


def breaches(edges: set[tuple[str, str]] | None = None) -> set[tuple[str, str]]:
    out = set()
    for src, dst in imports() if edges is None else edges:
        a, b = layer(src), layer(dst)
        upward = RANK[b] > RANK[a]
        sideways = a != b and RANK[a] == RANK[b]  # io and render stay apart
        if upward or sideways:
            out.add((src, ".".join(dst.split(".")[:3])))
    return out


def test_no_module_imports_a_layer_above_its_own():
    found = breaches()
    new = sorted(found - KNOWN)
    assert not new, "imports against the layer contract: " + ", ".join(f"{a} -> {b}" for a, b in new)


def test_the_known_breaches_still_exist():
    gone = sorted(KNOWN - breaches())
    assert not gone, f"fixed, so remove from KNOWN: {gone}"


def test_the_checker_sees_a_breach():
    assert layer("ketadose.render.plan_table") == "render"
    assert layer("ketadose.screen") == "core" and layer("ketadose.cli") == "entry"
    upward = ("ketadose.render.plan_table", "ketadose.commands.check.render_screen")
    sideways = ("ketadose.render.html", "ketadose.io.library")
    fine = ("ketadose.commands.plan", "ketadose.render.screen")
    assert breaches({upward, sideways, fine}) == {
        ("ketadose.render.plan_table", "ketadose.commands.check"),
        ("ketadose.render.html", "ketadose.io.library")}
