"""`ketadose validate`: findings per file, one line each, then a summary."""

from __future__ import annotations

from ketadose.errors import KetadoseError
from ketadose.findings import Finding
from ketadose.io.library import limit_library, vocabulary
from ketadose.io.regimens import resolve
from ketadose.render.diag import output, quiet
from ketadose.validate import validate
from ketadose.validation import FileValidation, Validation


def findings_for(ref: str, dirs, explain: dict | None = None) -> list:
    """Located findings for one file; unreadable files raise KetadoseError (exit 2)."""
    from ketadose.io.files import read_bytes
    from ketadose.io.regimens import looks_like_path
    from ketadose.io.yamlsrc import decode, load_text

    if looks_like_path(ref):
        raw = read_bytes(ref)  # not found / too big: exit 2, the file could not be read
        name = "<stdin>" if ref == "-" else ref
        try:
            doc = load_text(decode(raw, name), name)
        except KetadoseError as exc:  # the content is the finding: exit 1
            return [Finding("KD-V001", "error", exc.message, "YAML 1.2 / ketadose format v1",
                            where=exc.where or f"{name}:1:1")]
    else:
        doc = resolve(ref, dirs).doc
    if not isinstance(doc.data, dict):
        kind = "a list" if isinstance(doc.data, list) else "a single value"
        return [Finding("KD-V001", "error", f"the document is {kind}; a regimen is a mapping of keys",
                        "ketadose regimen format v1", where=doc.where(()))]
    _regimen, findings = validate(doc.data, limit_library(), explain,
                                  substances=vocabulary().substances)
    located = [f.located(doc.where(f.path, f.at_key)) for f in findings]
    return sorted(located, key=_order)


def _order(f):
    _file, line, col = (f.as_dict()[k] for k in ("file", "line", "column"))
    return (line or 0, col or 0, f.rule)


def validation(refs, dirs, explain=False) -> Validation:
    """Every file (folders expanded) through the core, findings located in their file."""
    from ketadose.io.regimens import expand_folders

    files = []
    for ref in expand_folders(refs):
        explained: dict = {}
        files.append(FileValidation(ref, tuple(findings_for(ref, dirs, explained if explain
                                                            else None)), explained))
    return Validation(tuple(files), explain)


def run(refs, fmt, dirs, explain=False) -> int:
    result = validation(refs, dirs, explain)
    if fmt == "json":
        from ketadose.render.data import to_json  # json and csv: only for this format
        from ketadose.render.documents.validation import document

        output().write(to_json(document(result)))
    elif fmt == "github":
        from ketadose.render.validation import github

        github(result, output())
    else:
        from ketadose.render.validation import text

        text(result, output(), summary=not quiet())
    return result.exit_code
