"""No function in ketadose/ above cyclomatic complexity 25 (radon's measure; issue 17).

The functions still above it are listed in KNOWN with their complexity today; the list may only
shrink: a new function above the bound fails, a listed one that grows fails, and a listed one
that has been split (now at or below the bound) fails until its entry is removed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import ketadose

radon = pytest.importorskip("radon.complexity")

BOUND = 25
PACKAGE = Path(ketadose.__file__).parent

# (module, function): complexity when listed. To be split, then removed from here (issue 17).
KNOWN: dict[tuple[str, str], int] = {
}


def complexities(source: str) -> dict[str, int]:
    """Every function and method of a module source (nested ones included) -> its complexity."""
    out: dict[str, int] = {}

    def walk(blocks):
        for b in blocks:
            if hasattr(b, "methods"):  # a class: its methods and inner classes
                walk(b.methods)
                walk(getattr(b, "inner_classes", []))
                continue
            out[b.fullname] = max(out.get(b.fullname, 0), b.complexity)
            walk(getattr(b, "closures", []))

    walk(radon.cc_visit(source))
    return out


def measured() -> dict[tuple[str, str], int]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for name, cc in complexities(path.read_text(encoding="utf-8")).items():
            found[(module.removesuffix(".__init__"), name)] = cc
    return found


def test_no_function_above_the_bound():
    over = {k: cc for k, cc in measured().items() if cc > BOUND}
    new = sorted(f"{m}.{f} ({cc})" for (m, f), cc in over.items() if k_grew(m, f, cc))
    assert not new, f"above cyclomatic complexity {BOUND} (split them): " + ", ".join(new)


def k_grew(module: str, function: str, cc: int) -> bool:
    return cc > KNOWN.get((module, function), BOUND)


def test_known_entries_are_still_above_the_bound():
    found = measured()
    gone = sorted(f"{m}.{f}" for (m, f) in KNOWN if found.get((m, f), 0) <= BOUND)
    assert not gone, f"at or below {BOUND} now (or renamed), so remove from KNOWN: {gone}"


def test_the_measure_sees_a_complex_function():
    branches = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(BOUND))
    nested = f"class C:\n  def m(self, x):\n    def inner(x):\n{branches.replace('    ', '      ')}    return inner\n"
    assert complexities(f"def f(x):\n{branches}    return -1\n")["f"] == BOUND + 1
    assert max(complexities(nested).values()) == BOUND + 1  # a closure inside a method counts
