"""Load packaged data files (the limit library) once per process."""

from __future__ import annotations

import functools
import os

import yaml

from ketadose.limits import LimitLibrary, library_from_data

_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: start-up speed


_DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")


def data_text(name: str) -> str:
    # A plain path, not importlib.resources: the data ships as files beside the code, and
    # importlib.resources costs ~10 ms of start-up that every command would pay.
    with open(os.path.join(_DATA, name), encoding="utf-8") as fh:
        return fh.read()


@functools.cache
def limit_library() -> LimitLibrary:
    # Shipped, trusted data: safe loading is enough here; user files go through yamlsrc.
    return library_from_data(yaml.load(data_text("limits.yaml"), Loader=_SAFE))


@functools.cache
def thresholds():
    # Read only when a screen runs (or the rules are listed): commands that do not screen pay
    # nothing at start-up.
    from ketadose.thresholds import thresholds_from_data

    return thresholds_from_data(yaml.load(data_text("thresholds.yaml"), Loader=_SAFE))


def sha256(raw: bytes) -> str:
    """The SHA-256 of ``raw`` as hex (a plan and a check record their regimen file's)."""
    return _sha256()(raw).hexdigest()


def _sha256():
    """CPython's own SHA-256 (the module hashlib falls back to): importing hashlib loads
    OpenSSL, about 12 million instructions of every plan's start-up (issue 18), for a hash of
    a few KiB. The module is _sha256 up to Python 3.11 and _sha2 from 3.12; an interpreter
    built without either gets hashlib's."""
    try:
        from _sha256 import sha256  # type: ignore[import-not-found]
    except ImportError:
        try:
            from _sha2 import sha256  # type: ignore[import-not-found]
        except ImportError:  # pragma: no cover - built without CPython's own hashes
            from hashlib import sha256
    return sha256


@functools.cache
def vocabulary():
    from ketadose.patient import Vocabulary

    return Vocabulary.from_data(yaml.load(data_text("vocabulary.yaml"), Loader=_SAFE))
