"""The closed unit vocabulary: parse, convert and format quantities.

A unit is a product of atoms (mass, body weight, time, volume, length) with one
numerator and up to two denominators, e.g. ``mcg/kg/min``. Only the dimensions
listed in ``KINDS`` are accepted, so ``mg/mL/kg`` or ``kg/mg`` are refused even
though they are built from known atoms. Canonical units: mg, kg, h, mL, cm.

Every value keeps the unit it was written in; conversion is a multiplication by
exact factors (float, relative error ~1e-16).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from ketadose.errors import UnitError

# Dimension exponents: (drug mass, body weight, time, volume, length, enzyme units, amount)
_MASS, _BW, _TIME, _VOL, _LEN, _ENZ, _MOL = range(7)


@dataclass(frozen=True)
class Atom:
    """A unit symbol's dimension and exact factor to the dimension's canonical unit."""

    symbol: str
    dim: int
    factor: Fraction  # in canonical units of that dimension; exact, so mg/24 h -> mg/day is 1


ATOMS = {
    "g": Atom("g", _MASS, Fraction(1000)),
    "mg": Atom("mg", _MASS, Fraction(1)),
    "mcg": Atom("mcg", _MASS, Fraction(1, 1000)),
    "kg": Atom("kg", _BW, Fraction(1)),
    "lb": Atom("lb", _BW, Fraction("0.45359237")),  # exact by definition (1959 agreement)
    "min": Atom("min", _TIME, Fraction(1, 60)),
    "h": Atom("h", _TIME, Fraction(1)),
    "day": Atom("day", _TIME, Fraction(24)),
    "24 h": Atom("24 h", _TIME, Fraction(24)),
    "mL": Atom("mL", _VOL, Fraction(1)),
    "L": Atom("L", _VOL, Fraction(1000)),
    "cm": Atom("cm", _LEN, Fraction(1)),
    "m": Atom("m", _LEN, Fraction(100)),
    "in": Atom("in", _LEN, Fraction("2.54")),  # exact by definition (1959 agreement)
    "ft": Atom("ft", _LEN, Fraction("30.48")),  # 12 in
    # laboratory values (liver tests) only
    "U": Atom("U", _ENZ, Fraction(1)),
    "umol": Atom("umol", _MOL, Fraction(1)),
}

# Spellings accepted on input -> atom symbol. µg/ug are read but shown as mcg (ISMP).
ALIASES = {
    "g": "g", "mg": "mg", "mcg": "mcg", "µg": "mcg", "μg": "mcg", "ug": "mcg",
    "kg": "kg", "lb": "lb", "lbs": "lb",
    "min": "min", "h": "h", "hr": "h", "hour": "h", "hours": "h",
    "day": "day", "days": "day", "d": "day", "24h": "24 h",
    "ml": "mL", "l": "L", "cm": "cm", "m": "m",
    "in": "in", "inch": "in", "inches": "in", "ft": "ft", "feet": "ft", "foot": "ft",
    "U": "U", "IU": "U", "umol": "umol", "µmol": "umol", "μmol": "umol",
}

# Allowed dimensions -> kind name.  (mass, bw, time, volume, length, enzyme, amount)
KINDS: dict[tuple[int, ...], str] = {
    (1, 0, 0, 0, 0, 0, 0): "mass",
    (1, -1, 0, 0, 0, 0, 0): "mass_per_kg",
    (1, 0, -1, 0, 0, 0, 0): "rate",
    (1, -1, -1, 0, 0, 0, 0): "rate_per_kg",
    (1, 0, 0, -1, 0, 0, 0): "concentration",
    (0, 1, 0, 0, 0, 0, 0): "body_weight",
    (0, 0, 1, 0, 0, 0, 0): "duration",
    (0, 0, 0, 1, 0, 0, 0): "volume",
    (0, 0, -1, 1, 0, 0, 0): "volume_rate",
    (0, 0, 0, 0, 1, 0, 0): "length",
    (0, 0, 0, -1, 0, 1, 0): "enzyme_activity",
    (0, 0, 0, -1, 0, 0, 1): "molar_concentration",
    (0, 0, 0, 0, 0, 0, 0): "percent",  # only reachable through "%"
}

CANONICAL = {
    "mass": "mg", "mass_per_kg": "mg/kg", "rate": "mg/h", "rate_per_kg": "mg/kg/h",
    "concentration": "mg/mL", "body_weight": "kg", "duration": "h", "volume": "mL",
    "volume_rate": "mL/h", "length": "cm", "percent": "%", "enzyme_activity": "U/L",
    "molar_concentration": "umol/L",
}

# A human list of what is accepted, for error messages.
ACCEPTED = (
    "mass g, mg, mcg (µg, ug); body weight kg, lb; time min, h, day; volume mL, L; "
    "forms mg/kg, mg/h, mg/day, mg/24 h, mg/kg/h, mcg/kg/min, mg/kg/day, mg/mL, % (w/v), "
    "mL/h, and 'N mg over T h'; height cm, m, in, ft (5ft6, 5'6\"); liver tests U/L, umol/L"
)

# The accepted units of each kind, for an error about one field (not the whole vocabulary).
UNITS_OF_KIND = {
    "mass": "g, mg, mcg", "mass_per_kg": "mg/kg, mcg/kg", "rate": "mg/h, mg/day, mg/24 h, mg/min",
    "rate_per_kg": "mg/kg/h, mcg/kg/min, mg/kg/day", "concentration": "mg/mL, mcg/mL, % (w/v)",
    "body_weight": "kg, lb", "duration": "min, h, day", "volume": "mL, L", "volume_rate": "mL/h",
    "length": "cm, m, in, ft (5ft6, 5'6\")", "enzyme_activity": "U/L", "molar_concentration": "umol/L", "percent": "%",
    "amount_over_time": "'N mg over T h'",
}


_ZERO = re.compile(r"\s*[+-]?(?:0+(?:\.0*)?|\.0+)(?:[eE][+-]?\d+)?\s*")


def _no_unit(number: str, kinds) -> UnitError:
    """A bare number: say what this field takes, suggesting a unit of its own dimension."""
    units = "; ".join(f"{k.replace('_', ' ')}: {UNITS_OF_KIND.get(k, CANONICAL.get(k, k))}"
                      for k in kinds or ())
    if _ZERO.fullmatch(number):  # -0.0 is zero, not negative (a JSON line's -0.0 was "negative")
        what = kinds[0].replace("_", " ") if kinds else "quantity"
        return UnitError(f"{number!r} is zero; a {what} must be greater than zero, with its "
                         "unit" + (f" ({units})" if units else ""))
    if number.lstrip().startswith("-"):
        return UnitError(f"{number!r} is negative; a negative quantity is never valid here")
    if not kinds:
        return UnitError(f"{number!r} has no unit; accepted: {ACCEPTED}")
    first = kinds[0]
    example = (f"'{number} {CANONICAL[first]}'" if first in CANONICAL
               else "'80 mg over 5 h'")
    if first == "body_weight":  # kg and lb both occur: say both, the writer knows which
        example += f" or '{number} lb'"
    return UnitError(f"{number!r} has no unit; write it with one, e.g. {example} ({units})")


def _for_kinds(exc: UnitError, kinds) -> UnitError:
    """A refused unit of a field that takes ``kinds``: the units of those kinds, not the whole
    vocabulary (a weight's 'kgs' listed some 240 characters of doses and rates)."""
    tail = f"accepted: {ACCEPTED}"
    if not kinds or not exc.message.endswith(tail):
        return exc
    units = "; ".join(f"{k.replace('_', ' ')} {UNITS_OF_KIND.get(k, CANONICAL.get(k, k))}"
                      for k in kinds)
    return UnitError(exc.message[:-len(tail)] + f"accepted here: {units}")


@dataclass(frozen=True)
class Unit:
    """A unit of the closed vocabulary: its kind and exact factor."""

    symbol: str
    kind: str
    factor: Fraction  # multiply a value in this unit to get the canonical unit
    # per-kilogram units need a body weight to become absolute
    per_kg: bool = False


@dataclass(frozen=True)
class Quantity:
    """A number with its unit."""

    value: float
    unit: Unit

    @property
    def kind(self) -> str:
        return self.unit.kind

    def to(self, symbol: str) -> Quantity:
        target = parse_unit(symbol)
        if target.kind != self.unit.kind:
            raise UnitError(f"cannot convert {format_quantity(self)} to {target.symbol}: "
                            f"{self.unit.kind} is not {target.kind}")
        ratio = _ratio(self.unit, target)
        return Quantity(self.value * ratio, target)  # x * 1.0 == x exactly, for every float

    def magnitude(self, symbol: str) -> float:
        """The value in ``symbol``: ``to(symbol).value`` without making the Quantity."""
        target = parse_unit(symbol)
        if target.kind != self.unit.kind:
            return self.to(symbol).value  # raises the UnitError to() words
        return self.value * _ratio(self.unit, target)

    def canonical(self) -> float:
        return self.value * float(self.unit.factor)

    def scaled(self, k: float) -> Quantity:
        return Quantity(self.value * k, self.unit)

    def __str__(self) -> str:
        return format_quantity(self)


@dataclass(frozen=True)
class OverTime:
    """A fixed amount given over a duration, e.g. ``80 mg over 5 h``."""

    amount: Quantity
    duration: Quantity

    @property
    def kind(self) -> str:
        return "amount_over_time"

    def rate(self) -> Quantity:
        per_kg = self.amount.kind == "mass_per_kg"
        value = self.amount.canonical() / self.duration.canonical()
        return Quantity(value, parse_unit("mg/kg/h" if per_kg else "mg/h"))

    def __str__(self) -> str:
        return f"{format_quantity(self.amount)} over {format_quantity(self.duration)}"


_unit_cache: dict[str, Unit] = {}
_TWENTY_FOUR_H = re.compile(r"24 h")  # the only unit written with a space inside (mg/24 h)
_ratio_cache: dict = {}


def _ratio(source: Unit, target: Unit) -> float:
    """The exact factor between two units, as the nearest float (cached: a hot path in batches)."""
    key = (source.symbol, target.symbol)
    ratio = _ratio_cache.get(key)  # pragma: no mutate (a cache: a miss only recomputes)
    if ratio is None:
        ratio = _ratio_cache[key] = float(source.factor / target.factor)
    return ratio


def parse_unit(text: str) -> Unit:
    """Parse a unit string such as ``mcg/kg/min`` into a Unit, or raise UnitError."""
    cached = _unit_cache.get(text)
    if cached is not None:
        return cached
    raw = text.strip()
    if raw == "%":
        unit = Unit("%", "percent", Fraction(1))
    else:
        parts = [p.strip() for p in re.sub(r"\s+", " ", raw).split("/")]
        if not 1 <= len(parts) <= 3 or any(not p for p in parts):
            raise UnitError(f"unknown unit {text!r}; accepted: {ACCEPTED}")
        dims = [0] * 7
        factor = Fraction(1)
        symbols = []
        for i, part in enumerate(parts):
            if " " in part and not _TWENTY_FOUR_H.fullmatch(part):
                # "k g" was read as kg: a unit is one word (spaces only around '/', and the
                # one documented form "24 h"); a split word is refused, not guessed
                raise UnitError(f"unknown unit {text!r} ({part!r} has a space inside; a unit "
                                f"is written as one word, e.g. 'kg', 'mg/kg/h'); accepted: "
                                f"{ACCEPTED}")
            key = part.replace(" ", "")
            alias = ALIASES.get(key.lower() if key.lower() in ("ml", "l") else key)
            if alias is None and key.lower() in ("iu", "u"):
                alias = "U"
            if alias is None:
                raise UnitError(f"unknown unit {text!r} ({part!r} is not in the vocabulary); "
                                f"accepted: {ACCEPTED}")
            atom = ATOMS[alias]
            sign = 1 if i == 0 else -1
            dims[atom.dim] += sign
            factor *= atom.factor ** sign
            symbols.append(atom.symbol)
        kind = KINDS.get(tuple(dims))
        if kind is None or kind == "percent" or len(set(symbols)) != len(symbols):
            raise UnitError(f"unit {text!r} is not a dose, rate, weight, time, volume or "
                            f"concentration; accepted: {ACCEPTED}")
        # Denominators in the conventional order: per kg before per time.
        if len(symbols) == 3 and ATOMS[ALIASES[parts[2].replace(" ", "")]].dim == _BW:
            symbols = [symbols[0], symbols[2], symbols[1]]
        unit = Unit("/".join(symbols), kind, factor, per_kg=dims[_BW] == -1)
    _unit_cache[text] = unit
    return unit


_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_QTY = re.compile(rf"^\s*({_NUMBER})\s*(.*?)\s*$")
_OVER = re.compile(r"^(.*?)\s+over\s+(.*)$", re.IGNORECASE)
_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d+,\d+")


# A decimal digit other than 0-9 (Arabic-Indic, full-width, Devanagari ...): Python's float()
# and int() and the regular expressions' \d take them, so "٧٠ kg" and "７０kg" were 70 kg.
# Refused in every numeric field, on every input path, with this one message.
_FOREIGN_DIGIT = re.compile(r"(?![0-9])\d")


def foreign_digit(text: str) -> str | None:
    """The message for a number written with a digit other than 0-9, or None."""
    found = None if text.isascii() else _FOREIGN_DIGIT.search(text)
    if found is None:
        return None
    char = found.group(0)
    return (f"{text.strip()!r}: {char!r} (U+{ord(char):04X}) is not one of the digits 0-9; "
            "write numbers with the digits 0-9")


def parse_number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnitError(f"{text!r} is not a finite number")
    return value


def split_number(text: str) -> tuple[str, str] | None:
    """(number, unit text) of a text that starts with a number ("45 U/L" -> ("45", "U/L"),
    "45" -> ("45", "")), or None; nothing is checked but the form."""
    m = _QTY.match(text)
    return (m.group(1), m.group(2)) if m else None


def parse_quantity(text, kinds: tuple[str, ...] | None = None):
    """Parse ``"0.35 mg/kg/h"`` or ``"80 mg over 5 h"``; check the kind if ``kinds`` given.

    Returns a Quantity, or an OverTime for the ``over`` form (kind ``amount_over_time``).
    """
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise UnitError(f"expected a quantity with a unit, e.g. '0.35 mg/kg/h'; got {text!r}")
    if isinstance(text, (int, float)):
        raise _no_unit(repr(text).strip("'"), kinds)
    foreign = foreign_digit(text)
    if foreign:
        raise UnitError(foreign)
    over = _OVER.match(text)
    if over:
        amount = parse_quantity(over.group(1), ("mass", "mass_per_kg"))
        duration = parse_quantity(over.group(2), ("duration",))
        if duration.value <= 0:
            raise UnitError(f"{text!r}: the duration must be greater than zero")
        result: Quantity | OverTime = OverTime(amount, duration)
    else:
        feet = _FEET_INCHES.match(text)
        if feet:
            return _check_kind(text, _feet_inches(text, *feet.groups()), kinds)
        if _DECIMAL_COMMA.match(text):
            raise UnitError(f"{text!r}: decimal comma? write {text.replace(',', '.', 1).strip()!r}")
        m = _QTY.match(text)
        if not m:
            low = text.strip().lower()
            if low.startswith(("nan", "inf", "+inf", "-inf", ".nan", ".inf")):
                raise UnitError(f"{text!r} is not a finite number")
            raise UnitError(f"{text!r} is not a number followed by a unit, e.g. '0.35 mg/kg/h'")
        number, unit_text = m.groups()
        if not unit_text:
            raise _no_unit(text.strip(), kinds)
        value = parse_number(number)
        if value < 0:
            raise UnitError(f"{text!r}: a negative quantity is never valid here")
        try:
            unit = parse_unit(unit_text)
        except UnitError as exc:
            raise _for_kinds(exc, kinds) from None
        result = Quantity(value, unit)
    return _check_kind(text, result, kinds)


def _check_kind(text, result, kinds):
    if kinds is not None and result.kind not in kinds:
        raise UnitError(f"{text!r} is a {result.kind.replace('_', ' ')}; expected "
                        + " or ".join(k.replace("_", " ") for k in kinds)
                        + f" (e.g. {', '.join(CANONICAL.get(k, 'N mg over T h') for k in kinds)})")
    return result


# A height in feet and inches, as people write it: 5ft6, 5ft6in, 5 ft 6 in, 5'6", 5' 6''
_FEET_INCHES = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(?:ft|feet|foot|')\s*(\d+(?:\.\d+)?)\s*(?:in|inch|inches|\"|'')?\s*$",
    re.IGNORECASE)


def _feet_inches(text: str, feet: str, inches: str) -> Quantity:
    """Feet and inches as one length in inches (12 in to the foot, 2.54 cm to the inch, exact)."""
    ft, inch = parse_number(feet), parse_number(inches)
    if inch >= 12:
        raise UnitError(f"{text!r}: the inches after the feet must be below 12")
    return Quantity(ft * 12 + inch, parse_unit("in"))


def format_number(value: float) -> str:
    """Shortest text that reads back as exactly the same float."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def format_quantity(q) -> str:
    """Exact text form; ``parse_quantity(format_quantity(q)) == q``."""
    if isinstance(q, OverTime):
        return str(q)
    sep = "" if q.unit.symbol == "%" else " "
    return f"{format_number(q.value)}{sep}{q.unit.symbol}"


def display_number(value: float, digits: int = 3) -> str:
    """A number as the tables show it: up to ``digits`` decimals, trailing zeros dropped."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".") if value else "0"
    # Absurd values (a typing slip such as 1e300 mg/mL) stay one short token, not 300 digits.
    if abs(value) >= 1e9 or (value and text in ("0", "-0")):
        text = f"{value:.3g}"
    return text


def display(q, digits: int = 3) -> str:
    """Human form: up to ``digits`` significant decimals, trailing zeros dropped."""
    if isinstance(q, OverTime):
        return f"{display(q.amount, digits)} over {display(q.duration, digits)}"
    sep = "" if q.unit.symbol == "%" else " "
    return f"{display_number(q.value, digits)}{sep}{q.unit.symbol}"
