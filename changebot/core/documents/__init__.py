"""Bytes to documents: safe, bounded, line-aware loading; schemas; layout and trust (the gate is ``core.schema``)."""
