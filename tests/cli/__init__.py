"""Tests of the command line and the Action entry point."""
