"""Patch series: format-patch parsing, git's diff format, ordering and the sequence gate."""
