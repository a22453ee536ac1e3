"""Clinical thresholds of the screening rules (blood pressure, heart rate, ages, liver tests,
course lengths and intervals), read from versioned data (ketadose/data/thresholds.yaml) like the
dose limits, so that the audit block's version covers every number a screen compared with.
Pure: the shell reads the file (ketadose.io.library.thresholds) and passes the result in."""

from __future__ import annotations

from dataclasses import dataclass

from ketadose.limits import above, at_or_above

COMPARISONS = ("above", "below", "at_or_above", "at_or_below")

# Every threshold a rule reads, so a data file without one fails when loaded, not mid-screen.
REQUIRED = (
    "bp-systolic-contraindication", "bp-diastolic-contraindication", "bp-systolic-caution",
    "heart-rate-low", "heart-rate-high", "adult-age", "neurodevelopment-age", "older-age",
    "liver-enzyme-uln-multiple", "prolonged-course-days", "prolonged-infusion-hours",
    "long-previous-course-hours", "repeat-interval-relative-days", "repeat-interval-caution-days",
)


@dataclass(frozen=True)
class Threshold:
    """A clinical threshold a screening rule compares with, and its source."""

    id: str
    rules: tuple
    value: float
    unit: str
    compare: str
    what: str
    source: str

    def fires(self, x: float) -> bool:
        """Whether a patient value ``x`` is on the threshold's firing side."""
        if self.compare == "above":
            return x > self.value
        if self.compare == "below":
            return x < self.value
        if self.compare == "at_or_above":
            return at_or_above(x, self.value)
        return not above(x, self.value)  # at_or_below

    def describe(self) -> str:
        words = self.compare.replace("_", " ")
        return f"{self.id}: fires {words} {self.value:g} {self.unit} -- {self.what}. Source: {self.source}"


@dataclass(frozen=True)
class Thresholds:
    """The thresholds file, by id."""

    version: str
    items: dict

    def __getitem__(self, tid: str) -> Threshold:
        return self.items[tid]

    def value(self, tid: str) -> float:
        return self.items[tid].value

    def fires(self, tid: str, x: float) -> bool:
        return self.items[tid].fires(x)

    def for_rule(self, rule_id: str) -> list:
        return [t for t in self.items.values() if rule_id in t.rules]


def thresholds_from_data(raw) -> Thresholds:
    """Build and check the thresholds; a malformed file is our bug (ValueError), never a silent
    default."""
    if not isinstance(raw, dict) or not isinstance(raw.get("version"), str):
        raise ValueError("thresholds: a mapping with a version string is required")
    items: dict = {}
    for entry in raw.get("thresholds") or ():
        tid = entry.get("id")
        value = entry.get("value")
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ValueError(f"threshold {tid!r}: value must be a number")
        if entry.get("compare") not in COMPARISONS:
            raise ValueError(f"threshold {tid!r}: compare must be one of {COMPARISONS}")
        for key in ("rule", "unit", "what", "source"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise ValueError(f"threshold {tid!r}: {key} is required")
        if tid in items:
            raise ValueError(f"threshold {tid!r} is defined twice")
        if tid not in REQUIRED:
            raise ValueError(f"threshold {tid!r} is not read by any rule")
        items[tid] = Threshold(tid, tuple(r.strip() for r in entry["rule"].split(",")),
                               value, entry["unit"], entry["compare"], entry["what"],
                               entry["source"])
    missing = [t for t in REQUIRED if t not in items]
    if missing:
        raise ValueError(f"thresholds missing: {', '.join(missing)}")
    return Thresholds(raw["version"], items)
