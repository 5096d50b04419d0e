"""Tests of what the App and the Action share."""
