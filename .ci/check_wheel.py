"""CI step: build the wheel and check what a user would install.

Inside: every module of the package (setup.cfg lists the packages by hand, so a new subpackage
can be forgotten), every shipped regimen, every data file, the documents for users (docs/, as
ketadose/io/docs.py names them: the same bytes), the LICENSE. Outside: tests, bench, fuzz, the
developer documents. Then the installed wheel, on its own, lists the shipped regimens and the
documents, and prints one.

    python .ci/check_wheel.py            (from the repository; exits 1 with a list of problems)
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build(out: Path) -> Path:
    # From a copy without the build/ folder an in-tree build leaves behind: setuptools reuses
    # build/lib, so a file dropped from setup.cfg stayed in the next wheel built here.
    src = out / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        "build", "dist", ".git", ".venv*", "*.egg-info", "__pycache__", ".hypothesis",
        ".pytest_cache", "mutants"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q",
                    "-w", str(out)], check=True)
    (wheel,) = out.glob("ketadose-*.whl")
    return wheel


def user_docs() -> tuple[str, ...]:
    """USER_DOCS of ketadose/io/docs.py, read without importing the package."""
    tree = ast.parse((ROOT / "ketadose" / "io" / "docs.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "USER_DOCS"
                                                for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise SystemExit("check_wheel: no USER_DOCS in ketadose/io/docs.py")


def problems(names: set[str]) -> list[str]:
    want = {"ketadose/" + p.relative_to(ROOT / "ketadose").as_posix()
            for p in (ROOT / "ketadose").rglob("*") if p.suffix in (".py", ".yaml")}
    want |= {f"ketadose/regimens/{p.name}" for p in (ROOT / "regimens").glob("*.yaml")}
    docs = {f"ketadose/docs/{n}.md" for n in user_docs()}
    want |= docs
    out = [f"missing from the wheel: {n}" for n in sorted(want - names)]
    dist_info = [n for n in names if n.split("/")[0].endswith(".dist-info")]
    if not any(n.endswith("/LICENSE") for n in dist_info):
        out.append("missing from the wheel: LICENSE")
    for n in sorted(names):
        if n.startswith("ketadose/docs/") and n.endswith(".md") and n not in docs:
            out.append(f"a developer document in the wheel: {n}")
        top = n.split("/")[0]
        if top != "ketadose" and not top.endswith(".dist-info"):
            out.append(f"not part of the package: {n}")
        elif "/tests/" in f"/{n}" or n.startswith(("ketadose/tests", "tests/")):
            out.append(f"a test in the wheel: {n}")
    return out


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build(Path(tmp))
        with zipfile.ZipFile(wheel) as z:
            names = set(z.namelist())
            licence = next(z.read(n) for n in names if n.endswith(".dist-info/licenses/LICENSE")
                           or n.endswith(".dist-info/LICENSE"))
            shipped_docs = {n: z.read(f"ketadose/docs/{n}.md") for n in user_docs()
                            if f"ketadose/docs/{n}.md" in names}
        found = problems(names)
        found += [f"the wheel's ketadose/docs/{n}.md differs from docs/{n}.md"
                  for n, text in shipped_docs.items() if text != (ROOT / "docs" / f"{n}.md")
                  .read_bytes()]
        if licence != (ROOT / "LICENSE").read_bytes():
            found.append("the wheel's LICENSE differs from the repository's")
        # The installed wheel alone (not the source tree) finds its regimens.
        site = Path(tmp) / "site"
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                        str(site), str(wheel)], check=True)
        env = {**os.environ, "PYTHONPATH": str(site), "PYTHONSAFEPATH": "1"}
        probe = ("import ketadose, pathlib, sys; "
                 "sys.exit(0 if pathlib.Path(ketadose.__file__).is_relative_to(sys.argv[1]) "
                 "else 'ketadose imported from ' + ketadose.__file__)")
        ran = subprocess.run([sys.executable, "-c", probe, str(site)], env=env, cwd=tmp,
                             capture_output=True, text=True, check=False)
        if ran.returncode:
            found.append(f"installed wheel not the one imported: {ran.stderr.strip()}")
        listing = subprocess.run([sys.executable, "-m", "ketadose", "list", "--format",
                                  "json"], env=env, cwd=tmp, capture_output=True, text=True,
                                 check=False)
        shipped = {p.stem for p in (ROOT / "regimens").glob("*.yaml")}
        missing = sorted(r for r in shipped if r not in listing.stdout)
        if listing.returncode or missing:
            found.append(f"installed wheel: `ketadose list` exit {listing.returncode}, "
                         f"missing {missing}: {listing.stderr.strip()[:300]}")
        found += installed_docs(env, tmp)
    for line in found:
        print(f"check_wheel: {line}", file=sys.stderr)
    if not found:
        print(f"check_wheel: {wheel.name}: {len(names)} files, contents as expected")
    return 1 if found else 0


def installed_docs(env: dict, cwd: str) -> list[str]:
    """The installed wheel alone lists the documents and prints one (`ketadose docs`)."""
    out = []
    listing = subprocess.run([sys.executable, "-m", "ketadose", "docs"], env=env, cwd=cwd,
                             capture_output=True, text=True, check=False)
    missing = [n for n in user_docs() if n not in listing.stdout]
    if listing.returncode or missing:
        out.append(f"installed wheel: `ketadose docs` exit {listing.returncode}, missing "
                   f"{missing}: {listing.stderr.strip()[:300]}")
    one = subprocess.run([sys.executable, "-m", "ketadose", "docs", "evidence"], env=env,
                         cwd=cwd, capture_output=True, check=False)
    if one.returncode or one.stdout != (ROOT / "docs" / "evidence.md").read_bytes():
        out.append(f"installed wheel: `ketadose docs evidence` exit {one.returncode}, not "
                   f"docs/evidence.md: {one.stderr.decode(errors='replace').strip()[:300]}")
    return out


if __name__ == "__main__":
    sys.exit(main())
