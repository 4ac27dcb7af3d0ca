"""The timeout check, kept importable here for the modules that still import it from this name
(the checks themselves live in :mod:`utd_stream_rx._validate`)."""

from __future__ import annotations

from ._validate import check_timeout

__all__ = ["check_timeout"]
