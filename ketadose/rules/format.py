"""Format rules (KD-V001..KD-V006): the file itself. Their checks are the loader and
the schema checker (ketadose/io/yamlsrc.py, ketadose/spec.py); documented here."""

from ketadose.rules import Rule

_SRC = "ketadose regimen format v1 (docs/regimen-format.md)"

RULES = (
    Rule("KD-V001", "yaml-syntax", "error", "The file is not a single, plain YAML or JSON document.",
         "The file is not a single, plain YAML or JSON document.\n\n"
         "Refused: syntax errors, tabs used for indentation, invalid UTF-8, an empty file, "
         "duplicate keys (PyYAML would silently keep the last), non-standard tags such as "
         "!!python/object, alias bombs and nesting deeper than 40 levels.\n\n"
         "FAIL:\n    rate: 0.35 mg/kg/h\n    rate: 3.5 mg/kg/h   # duplicate key\n"
         "PASS:\n    rate: 0.35 mg/kg/h", _SRC),
    Rule("KD-V002", "unknown-key", "error", "A key that format v1 does not define.",
         "A key that format v1 does not define. A typo must not silently drop a cap.\n\n"
         "FAIL:\n    max_rte: 25 mg/h    # did you mean 'max_rate'?\nPASS:\n    max_rate: 25 mg/h",
         _SRC),
    Rule("KD-V003", "missing-key", "error", "A required key is absent.",
         "A required key is absent; the finding points at the mapping that lacks it.\n\n"
         "FAIL:\n    - name: infusion\n      kind: infusion\n      rate: 0.35 mg/kg/h   # no duration\n"
         "PASS:\n      duration: 4 h", _SRC),
    Rule("KD-V004", "wrong-type", "error", "A value of the wrong type (text, number, list...).",
         "A value of the wrong type, e.g. a bare number where a quantity with a unit is needed.\n\n"
         "FAIL:\n    rate: 0.35\nPASS:\n    rate: 0.35 mg/kg/h", _SRC),
    Rule("KD-V005", "unit", "error", "A quantity without a unit or outside the closed vocabulary.",
         "A quantity without a unit, with a unit outside the closed vocabulary, with the wrong kind "
         "of unit for the field, or written with a decimal comma.\n\n"
         "FAIL:\n    rate: 0,35 mg/kg/h\n    duration: 4 furlongs\nPASS:\n    duration: 4 h", _SRC),
    Rule("KD-V006", "bad-value", "error", "A value outside its allowed set or range.",
         "A value outside its allowed set or range: zero, negative, NaN or infinite doses and "
         "durations, an unknown drug form or route, an id that is not kebab-case.\n\n"
         "FAIL:\n    duration: 0 h\n    drug: ketamine\nPASS:\n    drug: racemic-ketamine", _SRC),
)
