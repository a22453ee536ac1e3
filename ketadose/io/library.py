"""Load packaged data files (the limit library) once per process."""

from __future__ import annotations

import functools
import hashlib
from importlib import resources

import yaml

from ketadose.limits import LimitLibrary, library_from_data

_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: start-up speed


def data_text(name: str) -> str:
    return resources.files("ketadose.data").joinpath(name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=None)
def limit_library() -> LimitLibrary:
    # Shipped, trusted data: safe loading is enough here; user files go through yamlsrc.
    return library_from_data(yaml.load(data_text("limits.yaml"), Loader=_SAFE))


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@functools.lru_cache(maxsize=None)
def vocabulary():
    from ketadose.patient import Vocabulary

    return Vocabulary.from_data(yaml.load(data_text("vocabulary.yaml"), Loader=_SAFE))
