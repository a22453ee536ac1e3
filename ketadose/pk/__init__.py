"""Pharmacokinetics: published models (models.py), the exact solver (engine.py) and the
mapping from a dose plan to drug inputs (schedule.py). Imports numpy: only `simulate`,
`compare` and `models` load this package."""
