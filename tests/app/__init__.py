"""Tests of the App server."""
