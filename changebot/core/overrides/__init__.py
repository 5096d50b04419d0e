"""Overrides (break-glass): how they are stored in the sticky comment and who may grant them."""
