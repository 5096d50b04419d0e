"""A real PostgreSQL for the tests: a cluster of the session's own, made with Debian's ``initdb`` in a temp
directory and started with ``pg_ctl`` on a free loopback port (fsync on, the default), stopped at the end. Each
test gets a database of its own (``CREATE DATABASE``), so nothing leaks between tests.

``initdb`` refuses to run as root: then the cluster runs as the ``postgres`` user (``runuser``), its directory
chowned to it. ``.ci/run`` installs Debian's ``postgresql`` when no ``/usr/lib/postgresql/*/bin/initdb`` exists;
locally a missing PostgreSQL is a skip, in CI a failure (``tests.support.required``). Tests never use a system
PostgreSQL service.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.ports import free_port
from tests.support.required import require


def postgres_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` holding ``initdb`` and ``pg_ctl``, if any."""
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb") if (p.parent / "pg_ctl").exists()]
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0) if found else None


class PostgresServer:
    """One PostgreSQL cluster on ``127.0.0.1:port``, its data in ``directory/data``; can be killed (``immediate``
    stop: no checkpoint, what survives is what the WAL holds) and started again on the same port and data."""

    def __init__(self, bindir: Path, directory: Path) -> None:
        self.bindir = bindir
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self._as_user: list[str] = []
        self._names = itertools.count(1)

    def init(self) -> None:
        self.data.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
            shutil.chown(self.data, "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        subprocess.run(
            [*self._as_user, str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
             "--no-sync"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip

    def start(self, timeout: float = 30.0) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data} -c max_connections=300"
        subprocess.run(
            [*self._as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", "-t", str(int(timeout)),
             "-l", str(self.data / "log"), "-o", options, "start"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the cluster; ``mode="immediate"`` is a crash (no shutdown checkpoint: recovery replays the WAL)."""
        subprocess.run(
            [*self._as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"],
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def restart(self, down: float = 0.0, mode: str = "immediate") -> None:
        self.stop(mode)
        time.sleep(down)
        self.start()

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        """Run ``sql`` with ``psql`` (as the superuser ``postgres``); its output."""
        done = subprocess.run(
            [str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
             "-p", str(self.port), "-U", "postgres", "-d", dbname, "-c", sql],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        return done.stdout

    def create_database(self) -> str:
        """A new empty database; its URL."""
        name = f"t{os.getpid()}_{next(self._names)}"
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)


def postgres_available() -> bool:
    bindir = postgres_bindir()
    return bindir is not None and (bindir / "psql").exists()


def required_bindir() -> Path:
    """PostgreSQL's ``bin`` directory: a skip locally when it is missing, a failure in CI."""
    bindir = postgres_bindir()
    require(
        bindir is not None and (bindir / "psql").exists(),
        "PostgreSQL is not installed (Debian: apt-get install -y postgresql)",
    )
    assert bindir is not None
    return bindir


@contextmanager
def own_postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of the caller's own (to crash and restart), removed afterwards."""
    bindir = required_bindir()
    server = PostgresServer(bindir, Path(tempfile.mkdtemp(prefix="changebot-pg-")))
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(server.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of the test session's own (a fresh database per test with ``postgres_url``)."""
    bindir = required_bindir()
    # The postgres user cannot enter pytest's own temp root (mode 0700, root's): as root, a directory of its own.
    directory = Path(tempfile.mkdtemp(prefix="changebot-pg-")) if os.geteuid() == 0 else tmp_path_factory.mktemp("pg")
    server = PostgresServer(bindir, directory)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop("immediate")
        if os.geteuid() == 0:
            shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A new, empty database on the session's PostgreSQL, for this test alone."""
    return postgres_server.create_database()
