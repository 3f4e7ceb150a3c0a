"""The package version, in a module of its own: any layer can read it without an upward import."""

__version__ = "0.1.0"
