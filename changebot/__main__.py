"""``python -m changebot`` is the same as the ``changebot`` command."""

from changebot.cli import main

raise SystemExit(main())
