"""Exception types. Anything ketadose refuses is a KetadoseError; nothing else may escape."""

from __future__ import annotations


class KetadoseError(Exception):
    """Bad input or usage: one line, exit code 2. ``where`` is ``file:line:col`` if known."""

    exit_code = 2

    def __init__(self, message: str, where: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class UnitError(KetadoseError):
    """A quantity outside the closed vocabulary, without a unit, or not a number."""
