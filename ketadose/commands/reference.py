"""`ketadose limits` and `ketadose rules`: the library and the rule documentation."""

from __future__ import annotations

from ketadose.io.library import limit_library
from ketadose.render.data import plain, to_json, to_yaml
from ketadose.render.diag import emit, emit_line


def _bound(value, inclusive=False, direction="max") -> str:
    if value is None:
        return "none"
    if direction == "min":
        return f"{'<=' if inclusive else '<'} {value:g}"
    return f"{'>=' if inclusive else '>'} {value:g}"


def show_limits(fmt: str) -> None:
    lib = limit_library()
    if fmt != "table":
        data = {"version": lib.version, "limits": [plain(lim) for lim in lib.limits]}
        emit(to_json(data) if fmt == "json" else to_yaml(data))
        return
    from ketadose.render.table import console, line, table

    rows, notes = [], []
    for lim in lib.limits:
        moved = "\n".join(
            f"{name}: soft {_bound(v.get('soft'))}, hard {_bound(v.get('hard'))}"
            + (" (only if the regimen confirms it)" if v.get("requires_confirm") else "")
            for name, v in lim.settings.items())
        what = lim.what + (" [guard: not a clinical limit]" if lim.kind == "guard" else "")
        rows.append((lim.id, f"{lim.drug}\n{'/'.join(lim.routes)}", what, lim.unit,
                     _bound(lim.soft, False, lim.direction),
                     _bound(lim.hard, lim.hard_inclusive, lim.direction), moved or "-"))
        notes.append(line((lim.id, "bold"), f" {lim.source}", *(
            ("\n  ", ("UNVERIFIED:", "yellow"), f" {lim.unverified}") if lim.unverified else ())))
    nowrap = {"no_wrap": True}
    cols = [("id", nowrap), ("drug / route", nowrap), ("limit", {"ratio": 1}), ("unit", nowrap),
            ("soft", nowrap), ("hard", nowrap), ("by setting", nowrap)]
    out = console()
    out.print(table(f"Dose-limit library {lib.version}", cols, rows,
                    "soft: warning unless the regimen confirms it with a reason; "
                    "hard: refused, no override"))
    out.print("Sources", style="bold")
    for note in notes:
        out.print(note)


def all_rules():
    """Every rule as (id, severity, name, summary, doc, source): code rules and limits."""
    from ketadose.io.library import thresholds
    from ketadose.rules import registry

    th = thresholds()

    def with_thresholds(rid, doc):
        own = th.for_rule(rid)
        if not own:
            return doc
        return (doc + f"\n\nThresholds (clinical thresholds version {th.version}):\n"
                + "\n".join(f"- {t.describe()}" for t in own))

    out = [(r.id, r.severity, r.name, r.summary, with_thresholds(r.id, r.doc), r.source)
           for r in registry().values()]
    for lim in limit_library().limits:
        doc = (f"Soft limit {_bound(lim.soft, False, lim.direction)} {lim.unit} (warning unless "
               f"confirmed); hard limit {_bound(lim.hard, lim.hard_inclusive, lim.direction)} "
               f"{lim.unit} (refused)."
               + (" A device or typing-error guard, not a clinical limit." if lim.kind == "guard"
                  else "") + "\n\n"
               f"FAIL: a {lim.what} above the hard limit.\n"
               f"PASS: within the soft limit, or above it with confirm: {{{lim.id}: \"reason\"}}.")
        if lim.unverified:
            doc += f"\n\nUNVERIFIED: {lim.unverified}"
        out.append((lim.id, "error/warning", lim.name, f"{lim.what} ({lim.drug}, "
                    f"{'/'.join(lim.routes)})", doc, lim.source))
    return out


def show_rules(fmt: str, rule_id: str | None) -> None:
    from ketadose.errors import KetadoseError

    rules = all_rules()
    if rule_id:
        rules = [r for r in rules if r[0] == rule_id.upper()]
        if not rules:
            raise KetadoseError(f"no rule {rule_id!r}; `ketadose rules` lists them")
    keys = ("id", "severity", "name", "summary", "doc", "source")
    if fmt == "json":
        emit(to_json([dict(zip(keys, r)) for r in rules]))
        return
    if rule_id:
        rid, sev, name, _summary, doc, source = rules[0]
        emit_line(f"{rid} {name} ({sev})\n\n{doc}\n\nSource: {source}")
        return
    from ketadose.render.table import console, table

    console().print(table("Rules (`ketadose rules ID` shows one in full)",
                          [("id", {"no_wrap": True}), ("severity", {"no_wrap": True}),
                           ("what it checks", {"ratio": 2}), ("source", {"ratio": 3})],
                          [(r[0], r[1], r[3], r[5]) for r in rules]))


def show_vocabulary(fmt: str) -> None:
    from ketadose.io.library import vocabulary

    vocab = vocabulary()
    if fmt != "table":
        data = {"version": vocab.version, "conditions": vocab.conditions, "classes": vocab.classes,
                "medicines": vocab.medicines, "washouts": vocab.washouts,
                "substances": {s.id: {"label": s.label, "family": s.family,
                                      "medicine": s.medicine, "names": list(s.names)}
                               for s in vocab.substances.substances.values()}}
        emit(to_json(data) if fmt == "json" else to_yaml(data))
        return
    from ketadose.render.table import console, table

    out = console()
    out.print(table("Conditions (ids for `conditions:` / --condition)",
                    [("id", {"no_wrap": True}), "label", "note"],
                    [(cid, c["label"] + (f" (grades: {', '.join(c['grades'])}; write "
                                         f"{cid}:GRADE)" if c.get("grades") else ""),
                      c.get("informational", "")) for cid, c in vocab.conditions.items()]))
    by_class: dict = {}
    for name, info in vocab.medicines.items():
        for cls in info["classes"] or ["(no interaction class)"]:
            by_class.setdefault(cls, []).append(name)
    out.print(table("Allergy substances (matched in free text, any case and punctuation)",
                    [("substance", {"no_wrap": True}), ("names", {"ratio": 3})],
                    [(s.id + (" (ketamine family)" if s.family == "ketamine" else ""),
                      ", ".join(s.names)) for s in vocab.substances.substances.values()]))
    out.print(table("Medicines by class (generic names for `medications:` / --medication)",
                    [("class", {"no_wrap": True}), ("medicines", {"ratio": 3})],
                    [(f"{cls}\n{vocab.classes.get(cls, '')}", ", ".join(names))
                     for cls, names in by_class.items()]))
