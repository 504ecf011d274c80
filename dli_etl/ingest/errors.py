"""Errors a reader raises for a file it cannot read; the pipeline turns them into findings."""


class SourceReadError(Exception):
    """A source file that cannot be read at all; ``str(exc)`` is written for a data manager."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class InputLimitExceeded(SourceReadError):
    """A source file refused before reading because it is larger than ``specs/limits.yaml`` allows."""
