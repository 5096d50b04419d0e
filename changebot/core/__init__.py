"""The pure core: parsing, evaluation and planning over plain data. No git, GitHub, network, subprocess,
environment or clock here; ``now`` is always a parameter. ``tests/test_architecture.py`` keeps it so."""
