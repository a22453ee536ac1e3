"""ketadose: decision support for sub-anaesthetic ketamine regimens."""

__version__ = "0.1.0"
