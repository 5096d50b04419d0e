"""changebot: one answer per pull request for repositories that keep their release process as data."""

__version__ = "0.1.0"
