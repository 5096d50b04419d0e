"""Tests of the pure core, gate by gate."""
