"""Tests of the adapters against real git, loopback servers and engines."""
