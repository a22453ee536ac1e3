"""Finding and loading regimens: shipped templates, a clinic's folders, or a file path."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ketadose.errors import KetadoseError
from ketadose.io.files import read_bytes
from ketadose.io.library import limit_library, sha256
from ketadose.io.yamlsrc import Document, decode, load_text

ENV_VAR = "KETADOSE_REGIMENS"
SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Source:
    """A regimen file as read: its name, bytes, parsed document and sha256."""

    name: str
    raw: bytes
    doc: Document

    @property
    def sha256(self) -> str:
        return sha256(self.raw)

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8-sig")


def read_source(path: str) -> Source:
    """Read and parse one file (or '-'); raises KetadoseError with file:line:col."""
    raw = read_bytes(path)
    name = "<stdin>" if path == "-" else path
    return Source(name, raw, load_text(decode(raw, name), name))


def folders(extra=()) -> list:
    """Template folders in search order: shipped, then KETADOSE_REGIMENS, then --regimens."""
    from importlib import resources  # only when templates are looked up by id

    out = [("shipped", resources.files("ketadose.regimens"))]
    env = [p for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p]
    for path in [*env, *extra]:
        if not os.path.isdir(path):
            raise KetadoseError("regimen folder does not exist or is not a folder", path)
        out.append(("local", path))
    return out


def template_files(extra=()) -> list:
    """Every template file in every folder, sorted by name within a folder."""
    files = []
    for origin, folder in folders(extra):
        if origin == "shipped":
            names = sorted(f.name for f in folder.iterdir() if f.name.endswith(SUFFIXES))
            files += [str(folder.joinpath(n)) for n in names]
        else:
            try:
                names = sorted(n for n in os.listdir(folder) if n.endswith(SUFFIXES))
            except PermissionError:
                raise KetadoseError("regimen folder: permission denied", folder) from None
            except OSError as exc:
                raise KetadoseError(f"regimen folder: cannot read: {exc.strerror}", folder) from None
            files += [os.path.join(folder, n) for n in names]
    return files


def catalogue(extra=()) -> dict:
    """id -> Source for every template; an id defined twice is an error naming both files."""
    seen: dict = {}
    for path in template_files(extra):
        src = read_source(path)
        rid = src.doc.data.get("id") if isinstance(src.doc.data, dict) else None
        if not isinstance(rid, str):
            raise KetadoseError("template has no id", src.doc.where(()))
        if rid in seen:
            raise KetadoseError(f"regimen id {rid!r} is defined twice: in {seen[rid].name} and "
                                f"in {path}; a local template never shadows another silently",
                                src.doc.where(("id",)))
        seen[rid] = src
    return seen


def looks_like_path(ref: str) -> bool:
    return ref == "-" or ref.endswith(SUFFIXES) or os.sep in ref or os.path.isfile(ref)


def resolve(ref: str, extra=()) -> Source:
    """A regimen by file path or by id from any folder."""
    if looks_like_path(ref):
        return read_source(ref)
    cat = catalogue(extra)
    if ref not in cat:
        import difflib

        close = difflib.get_close_matches(ref, list(cat), n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `ketadose list`"
        raise KetadoseError(f"no regimen with id {ref!r}{hint}")
    return cat[ref]


def load_regimen(ref: str, extra=()):
    """(Source, Regimen, findings) for a regimen that must be valid; raises otherwise."""
    src = resolve(ref, extra)
    return (src, *check_source(src))


def check_source(src: Source):
    """(Regimen, located findings) for a source that must be valid; raises otherwise."""
    from ketadose.validate import validate

    if not isinstance(src.doc.data, dict):
        raise KetadoseError("a regimen is a mapping of keys", src.doc.where(()))
    regimen, findings = validate(src.doc.data, limit_library())
    errors = [f for f in findings if f.severity == "error"]
    if regimen is None or errors:
        first = errors[0]
        raise KetadoseError(f"invalid regimen: {first.rule} {first.message} "
                            f"({len(errors)} error(s); run `ketadose validate {src.name}`)",
                            src.doc.where(first.path, first.at_key))
    return regimen, [f.located(src.doc.where(f.path, f.at_key)) for f in findings]
