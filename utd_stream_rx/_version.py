"""The package's version: written here once (the build reads it too, see ``pyproject.toml``)."""

__version__ = "0.1.0"
