"""changebot's tests: one folder per layer of ``changebot/``; helpers in ``support/``."""
