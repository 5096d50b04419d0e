"""Freeze calendars as instants, the ways they are written, and the freeze gate."""
