"""What the reliability suite measured (cases generated, races run, faults injected), by topic;
its conftest prints them in the terminal summary."""

from __future__ import annotations

__all__ = ["FIGURES", "record"]

FIGURES: dict[str, str] = {}
"""What the suite measured, by topic; printed in the terminal summary."""


def record(topic: str, figure: object) -> None:
    """Keep a figure for the summary (the last one per topic wins)."""
    FIGURES[topic] = str(figure)
