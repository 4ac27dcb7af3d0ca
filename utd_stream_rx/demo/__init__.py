"""Demos of live sessions on the local stack, run by ``utd-stream demo``."""
