"""One function per job: read the repository, run the core, return values (plan, sequence, audit)."""
