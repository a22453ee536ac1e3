"""Finding and loading regimens: shipped templates, a clinic's folders, or a file path."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ketadose.errors import KetadoseError
from ketadose.io.files import read_bytes
from ketadose.io.library import limit_library, sha256, vocabulary
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


class Catalogue(dict):
    """id -> Source for every usable template, plus what could not be used: a clinic folder
    with one bad file (bad YAML, no id, a backup copy reusing an id) still serves every other
    id. The bad ones are reported once as warnings; naming one is the error."""

    def __init__(self):
        super().__init__()
        self.broken: dict = {}      # id, or file stem when no id could be read -> KetadoseError
        self.duplicates: dict = {}  # id -> [file names defining it]

    def taken(self, rid: str) -> bool:
        return rid in self or rid in self.broken or rid in self.duplicates

    def problem(self, ref: str):
        """The error for naming a template that could not be used, or None."""
        if ref in self.duplicates:
            names = self.duplicates[ref]
            return KetadoseError(f"regimen id {ref!r} is defined twice: in {' and in '.join(names)};"
                                 " a template never shadows another silently: rename or remove"
                                 " one of them")
        return self.broken.get(ref)


def report(message: str) -> None:
    """A warning on stderr, once per run, through the reporter the entry point installed
    (io does not render; without a reporter, e.g. in the core's tests, nothing is shown)."""
    from ketadose.runmeta import meta as run_meta

    meta = run_meta()
    if meta is None or meta.get("report") is None:
        return
    seen = meta.setdefault("reported", set())
    if message not in seen:
        seen.add(message)
        meta["report"](message)


def catalogue(extra=(), named: str | None = None) -> Catalogue:
    """Every template by id; broken and duplicate ones are reported and left out (see
    Catalogue): an id defined twice is never resolved to either file. The template `named`
    by the command is not warned about: its problem becomes the command's error."""
    cat = Catalogue()
    found: dict = {}
    for path in template_files(extra):
        stem = os.path.splitext(os.path.basename(path))[0]
        try:
            src = read_source(path)
            rid = src.doc.data.get("id") if isinstance(src.doc.data, dict) else None
            if not isinstance(rid, str):
                raise KetadoseError("template has no id", src.doc.where(()))
        except KetadoseError as exc:
            exc.where = exc.where or path
            cat.broken.setdefault(stem, exc)
            if stem != named:
                report(f"warning: {exc} (template skipped)")
            continue
        found.setdefault(rid, []).append(src)
    for rid, sources in found.items():
        if len(sources) == 1:
            cat[rid] = sources[0]
            continue
        cat.duplicates[rid] = [s.name for s in sources]
        where = sources[-1].doc.where(("id",))
        if rid != named:
            report(f"warning: {where}: {cat.problem(rid).message} (id skipped)")
    return cat


def usable_templates(extra=()) -> list:
    """(Source, Regimen) for every valid template; an invalid one is reported and skipped."""
    out = []
    for src in catalogue(extra).values():
        try:
            out.append((src, *check_source(src)[:1]))
        except KetadoseError as exc:
            report(f"warning: {exc} (template skipped)")
    return out


def looks_like_path(ref: str) -> bool:
    return ref == "-" or ref.endswith(SUFFIXES) or os.sep in ref or os.path.isfile(ref)


def expand_folders(refs) -> list:
    """Paths as given, with each folder replaced by its *.yaml / *.yml files, recursively and
    sorted (hidden folders such as .git are not entered)."""
    out = []
    for ref in refs:
        if ref == "-" or not os.path.isdir(ref):
            out.append(ref)
            continue
        files = []
        for root, dirs, names in os.walk(ref, onerror=_walk_error):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            files += [os.path.join(root, n) for n in sorted(names)
                      if n.endswith((".yaml", ".yml")) and not n.startswith(".")]
        if not files:
            raise KetadoseError("folder has no *.yaml or *.yml files", ref)
        out += files
    return out


def _walk_error(exc: OSError):
    raise KetadoseError(f"cannot read folder: {exc.strerror}", exc.filename)


def _shipped_by_name(ref: str, extra=()) -> Source | None:
    """The shipped template `ref` read alone, when no clinic folder is in use (issue 18: a
    lookup by id parsed every template). Shipped files are named after their id (tested);
    anything unexpected (no such file, another id inside) returns None and the whole
    catalogue decides, so duplicates and broken files are judged exactly as before."""
    if extra or os.environ.get(ENV_VAR) or ref.startswith(".") or os.path.basename(ref) != ref:
        return None
    import importlib  # the package's plain path, not importlib.resources (start-up cost)

    shipped = importlib.import_module("ketadose.regimens").__file__ or ""
    path = os.path.join(os.path.dirname(shipped), ref + ".yaml")
    if not os.path.isfile(path):
        return None
    try:
        src = read_source(path)
    except KetadoseError:
        return None
    data = src.doc.data
    return src if isinstance(data, dict) and data.get("id") == ref else None


def resolve(ref: str, extra=()) -> Source:
    """A regimen by file path or by id from any folder."""
    if looks_like_path(ref):
        return read_source(ref)
    shipped = _shipped_by_name(ref, extra)
    if shipped is not None:
        return shipped
    cat = catalogue(extra, named=ref)
    if ref not in cat:
        problem = cat.problem(ref)
        if problem is not None:
            raise problem
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
    regimen, findings = validate(src.doc.data, limit_library(),
                                  substances=vocabulary().substances)
    errors = [f for f in findings if f.severity == "error"]
    if regimen is None or errors:
        first = errors[0]
        raise KetadoseError(f"invalid regimen: {first.rule} {first.message} "
                            f"({len(errors)} error(s); run `ketadose validate {src.name}`)",
                            src.doc.where(first.path, first.at_key))
    return regimen, [f.located(src.doc.where(f.path, f.at_key)) for f in findings]
