"""Load packaged data files (the limit library) once per process."""

from __future__ import annotations

import functools
import hashlib
from importlib import resources

import yaml

from ketadose.limits import LimitLibrary, library_from_data


def data_text(name: str) -> str:
    return resources.files("ketadose.data").joinpath(name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=None)
def limit_library() -> LimitLibrary:
    # Shipped, trusted data: safe_load is enough here; user files go through yamlsrc.
    return library_from_data(yaml.safe_load(data_text("limits.yaml")))


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@functools.lru_cache(maxsize=None)
def vocabulary():
    from ketadose.patient import Vocabulary

    return Vocabulary.from_data(yaml.safe_load(data_text("vocabulary.yaml")))
