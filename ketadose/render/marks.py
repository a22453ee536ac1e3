"""UNVERIFIED marks beside the numbers they qualify, the same in every output.

A template marks a field whose number the sources read could not confirm (``unverified: {max:
why}``); `show` and JSON carry the mark, and so must every rendering of the plan: a clinician
must see it next to the number, whatever the format."""

from __future__ import annotations


def mark(unverified: dict | None, *keys) -> str:
    """' [UNVERIFIED key: why]' for the given keys (all keys when none are given), or ''."""
    unverified = unverified or {}
    keys = keys or tuple(unverified)
    notes = [f"{k}: {unverified[k]}" for k in keys if k in unverified]
    return f" [UNVERIFIED {'; '.join(notes)}]" if notes else ""


def rest(unverified: dict | None, shown) -> str:
    """The marks for keys that have no column of their own."""
    keys = [k for k in (unverified or {}) if k not in shown]
    return mark(unverified, *keys) if keys else ""


def text(unverified: dict | None) -> str:
    """'key: why; key: why' for a CSV cell ('' when nothing is unverified)."""
    return "; ".join(f"{k}: {v}" for k, v in (unverified or {}).items())


def short(unverified: dict | None, *keys) -> str:
    """' [UNVERIFIED: max]' for narrow table cells; the reasons go in the table's caption."""
    unverified = unverified or {}
    names = [k for k in (keys or tuple(unverified)) if k in unverified]
    return f" [UNVERIFIED: {', '.join(names)}]" if names else ""


def caption(items) -> str | None:
    """'UNVERIFIED: where key: why; ...' for (where, unverified dict) pairs, or None."""
    notes = [f"{where} {k}: {why}" for where, u in items for k, why in (u or {}).items()]
    return "UNVERIFIED: " + "; ".join(notes) if notes else None
