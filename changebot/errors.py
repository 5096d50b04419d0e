"""Errors that stop changebot from evaluating at all (exit status 2).

Problems *in* the repository are never exceptions: they are ``Finding`` values and gate results. The
exceptions here are for when there is nothing to evaluate::

    ChangebotError            every error changebot raises on purpose; ``str()`` is for people
    ├── UsageError            a bad flag or flag value
    └── RepositoryError       the repository or a ref cannot be read (missing ref, not a git repository,
                              a path outside the repository)

``diagnostics()`` returns the message plus a hint on what to do, for the CLI and the Actions summary.
"""

from __future__ import annotations


class ChangebotError(Exception):
    """Base class: changebot could not evaluate. Carries an optional hint."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def diagnostics(self) -> str:
        """The message, and the hint on its own line when there is one."""
        text = str(self)
        return f"{text}\nhint: {self.hint}" if self.hint else text


class UsageError(ChangebotError):
    """A flag or its value is wrong."""


class RepositoryError(ChangebotError):
    """The repository, a ref, or a path in it cannot be read."""
