"""Helpers the tests share: git repositories, loopback servers, GitHub's descriptions."""
