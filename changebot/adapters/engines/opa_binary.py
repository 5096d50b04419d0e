"""The real OPA as the policy engine: the ``opa`` binary, run as a child process with limits.

``OpaBinary.evaluate`` writes the modules into a temporary bundle directory (each under its repository path,
so OPA's messages name the user's file) with a ``.manifest`` that gives every file its Rego version: OPA v1,
or v0 for files written before 1.0 (``import future.keywords``, ``deny[msg] { ... }``), which OPA then runs the
way ``--v0-compatible`` does. It then runs **one** ``opa eval -b <bundle> data`` for the whole plan and reads
each package's document out of the answer.

Only when that fails does it spend more processes, to say precisely what is wrong:

* a compile error: ``opa check`` (strict when ``policy.strict`` asks) on the files as v1, then the failing ones
  as v0; each file that compiles in neither is a compile error with OPA's file:line, left out, and the rest are
  evaluated again;
* an evaluation error (a conflict, a crash) or a missed deadline: each package is queried on its own, with its
  own deadline, so that only the package at fault fails.

Limits: a deadline per process (``timeout_seconds``), an address-space cap, an empty environment, and a
capabilities file without ``http.send``, ``net.lookup_ip_addr`` and ``opa.runtime`` (policies read from the
repository reach neither the network nor changebot's environment: a call to one is a compile error).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from changebot.adapters.engines.rego import library_modules
from changebot.core.policy.decisions import Evaluation, Module, QueryResult, package_segments

#: Builtins the ``opa`` engine refuses: network access and the process environment.
DENIED_BUILTINS = frozenset({"http.send", "net.lookup_ip_addr", "opa.runtime"})
#: Address-space cap of the ``opa`` child.
ADDRESS_SPACE = 4 * 1024 * 1024 * 1024
#: Largest answer read from ``opa``.
MAX_OUTPUT_BYTES = 64 * 1024 * 1024
_V0_HINT = re.compile(r"future\.keywords|^[ \t]*[A-Za-z_][\w.]*\[[^\]]*\][ \t]*\{", re.MULTILINE)


def find_opa(explicit: str | None = None) -> str | None:
    """The ``opa`` binary: ``explicit`` (``CHANGEBOT_OPA_PATH``), else the first on ``PATH``; ``None`` if absent."""
    if explicit:
        return explicit if os.access(explicit, os.X_OK) and Path(explicit).is_file() else None
    return shutil.which("opa")


def _limits() -> None:  # pragma: no cover - runs in the child between fork and exec
    import resource  # noqa: PLC0415

    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


@dataclass(frozen=True)
class _Run:
    code: int
    out: str
    err: str
    timed_out: bool = False


def _run(args: Sequence[str], timeout: float) -> _Run:
    try:
        proc = subprocess.run(
            list(args),
            capture_output=True,
            timeout=timeout,
            env={"PATH": "/usr/bin:/bin", "GOMAXPROCS": "2"},
            preexec_fn=_limits,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return _Run(-1, "", "", timed_out=True)
    out = proc.stdout[:MAX_OUTPUT_BYTES].decode("utf-8", "replace")
    return _Run(proc.returncode, out, proc.stderr[:65536].decode("utf-8", "replace"))


@cache
def opa_version(binary: str) -> str:
    """``OPA 1.22.4`` (from ``opa version``), or ``""`` when the binary does not say."""
    found = re.search(r"^Version:\s*(\S+)", _run([binary, "version"], 10).out, re.MULTILINE)
    return f"OPA {found.group(1)}" if found else ""


@cache
def _capabilities(binary: str) -> str:
    """A capabilities file: the binary's own builtins minus ``DENIED_BUILTINS`` (written once per process)."""
    answer = _run([binary, "capabilities", "--current"], 10)
    caps = json.loads(answer.out)
    caps["builtins"] = [b for b in caps.get("builtins", []) if b.get("name") not in DENIED_BUILTINS]
    fd, path = tempfile.mkstemp(prefix="changebot-opa-caps-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(caps, out)
    atexit.register(_remove, path)
    return path


def _remove(path: str) -> None:
    Path(path).unlink(missing_ok=True)


def _safe(path: str) -> PurePosixPath:
    parts = [p for p in PurePosixPath(path).parts if p not in ("/", "", ".", "..")]
    return PurePosixPath(*parts) if parts else PurePosixPath("module.rego")


def looks_v0(source: str) -> bool:
    """A first guess at a module written for OPA before 1.0; ``opa check`` settles it when the guess fails."""
    return bool(_V0_HINT.search(source)) and "import rego.v1" not in source


@dataclass(frozen=True)
class OpaBinary:
    """A ``PolicyEngine`` (``changebot.core.policy.gate``) running the ``opa`` binary at ``binary``."""

    binary: str
    timeout_seconds: float = 5.0
    strict: bool = False
    default_library: bool = True
    name: str = "opa"

    @property
    def version(self) -> str:
        """``OPA <version>``."""
        return opa_version(self.binary)

    def library(self) -> Sequence[Module]:
        """changebot's default library, loaded beside the repository's policies."""
        return library_modules()

    def evaluate(self, modules: Sequence[Module], packages: Sequence[str], data_input: Mapping[str, Any]) -> Evaluation:
        """Compile ``modules`` as OPA does and query every ``data.<package>`` in one ``opa eval``."""
        try:
            with tempfile.TemporaryDirectory(prefix="changebot-opa-") as tmp:
                return _Session(self, Path(tmp), modules).evaluate(packages, data_input)
        except (OSError, ValueError, KeyError, TypeError) as exc:  # no binary, not OPA, a broken answer: fail closed
            message = f"could not run {self.binary}: {exc}"
            failure = QueryResult("unavailable", message=message, code="policy-unavailable")
            unchecked = {} if packages else {m.path: message for m in modules}  # compile only: no file passes
            return Evaluation(tuple(failure for _ in packages), unchecked)


class _Session:
    """One evaluation: the bundle on disk and what is known about each file."""

    def __init__(self, engine: OpaBinary, root: Path, modules: Sequence[Module]) -> None:
        self.engine = engine
        self.root = root
        self.bundle = root / "bundle"
        self.by_disk: dict[str, str] = {}
        self.modules = {m.path: m for m in modules}
        self.v0 = {m.path for m in modules if looks_v0(m.source)}
        self.broken: dict[str, str] = {}

    def _write(self) -> None:
        shutil.rmtree(self.bundle, ignore_errors=True)
        self.bundle.mkdir()
        versions: dict[str, int] = {}
        for n, (path, module) in enumerate(self.modules.items()):
            if path in self.broken:
                continue
            rel = PurePosixPath(f"m{n}") / _safe(path)
            target = self.bundle / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(module.source, encoding="utf-8")
            self.by_disk[str(target)] = path
            self.by_disk[f"/{rel}"] = path
            self.by_disk[str(rel)] = path
            if path in self.v0:
                versions[f"/{rel}"] = 0
        manifest = {"rego_version": 1, "file_rego_versions": versions}
        (self.bundle / ".manifest").write_text(json.dumps(manifest), encoding="utf-8")

    def _common(self) -> list[str]:
        args = ["--capabilities", _capabilities(self.engine.binary), "--format", "json"]
        return [*args, "--strict"] if self.engine.strict else args

    def _file(self, location: Mapping[str, Any]) -> str | None:
        raw = str(location.get("file", ""))
        if raw in self.by_disk:
            return self.by_disk[raw]
        for disk, path in self.by_disk.items():
            if raw and (raw.endswith(disk) or disk.endswith(raw)):
                return path
        return None

    def _errors(self, text: str) -> list[tuple[str | None, str]]:
        """(module path or None, message naming file:line) for each error in an ``{"errors": [...]}`` answer."""
        try:
            answer = json.loads(text)
        except ValueError:
            return [(None, text.strip()[:500] or "opa gave no answer")]
        errors = answer.get("errors") if isinstance(answer, Mapping) else None
        if not isinstance(errors, list):
            return []
        out: list[tuple[str | None, str]] = []
        for item in errors:
            if not isinstance(item, Mapping):
                continue
            raw = item.get("location")
            location: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
            path = self._file(location)
            row = location.get("row")
            at = f" (at {path}:{row})" if path and isinstance(row, int) else ""
            out.append((path, self._readable(f"{item.get('code', 'opa_error')}: {item.get('message', '')}{at}")))
        return out

    def _readable(self, message: str) -> str:
        """``message`` with the temporary bundle's file names replaced by repository paths."""
        for disk in sorted((d for d in self.by_disk if d.startswith(str(self.root))), key=len, reverse=True):
            message = message.replace(disk, self.by_disk[disk])
        return message

    def _eval(self, query: str, data_input: Mapping[str, Any]) -> _Run:
        input_file = self.root / "input.json"
        if not input_file.exists():
            input_file.write_text(json.dumps(data_input), encoding="utf-8")
        args = [self.engine.binary, "eval", *self._common(), "-b", str(self.bundle), "-i", str(input_file), query]
        return _run(args, self.engine.timeout_seconds)

    def _check_bundle(self) -> dict[str, list[str]]:
        """``opa check`` over the bundle as it stands: the messages of each file at fault. OPA stops at the first
        compiler stage that fails, so one file's parse error can hide another's type error: callers repeat."""
        self._write()
        run = _run([self.engine.binary, "check", *self._common(), "-b", str(self.bundle)], self.engine.timeout_seconds)
        return self._by_file(run, list(self.modules))

    def _check_alone(self, path: str, v0: bool) -> dict[str, list[str]]:
        """``opa check`` of one file on its own, as v0 (``--v0-compatible``) or v1."""
        scratch = self.root / ("alone-v0" if v0 else "alone-v1")
        shutil.rmtree(scratch, ignore_errors=True)
        target = scratch / _safe(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.modules[path].source, encoding="utf-8")
        self.by_disk[str(target)] = path
        args = [self.engine.binary, "check", *self._common(), *(["--v0-compatible"] if v0 else []), str(target)]
        return self._by_file(_run(args, self.engine.timeout_seconds), [path])

    def _by_file(self, run: _Run, files: Sequence[str]) -> dict[str, list[str]]:
        if run.timed_out:
            return {p: [f"opa check did not finish within {self.engine.timeout_seconds:g} s"] for p in files}
        found: dict[str, list[str]] = {}
        if run.code == 0:
            return found
        for named, message in self._errors(run.out or run.err):
            found.setdefault(named if named is not None else files[0], []).append(message)
        return found

    def _diagnose(self) -> None:
        """Settle each file's Rego version and which files do not compile, the way ``opa check`` does: a file
        that fails is tried alone in the other Rego version; if it compiles so, it is a file of that version,
        otherwise it is left out with OPA's messages (those of the version it looks written for)."""
        for _ in range(len(self.modules) + 1):
            failing = {p: m for p, m in self._check_bundle().items() if p not in self.broken}
            if not failing:
                return
            for path, messages in failing.items():
                v0 = path in self.v0
                other = self._check_alone(path, not v0)
                if not other:
                    (self.v0.discard if v0 else self.v0.add)(path)
                else:
                    guess = looks_v0(self.modules[path].source)
                    self.broken[path] = "; ".join(messages if guess == v0 else other[path])

    def evaluate(self, packages: Sequence[str], data_input: Mapping[str, Any]) -> Evaluation:
        if not packages:  # compile only
            self._diagnose()
            return Evaluation((), self.broken)
        for _ in range(3):
            self._write()
            run = self._eval("data", data_input)
            if run.timed_out:  # find the package at fault: each on its own, with its own deadline
                return Evaluation(tuple(self._one(p, data_input) for p in packages), self.broken)
            if run.code == 0:
                return Evaluation(tuple(_document(run.out, p) for p in packages), self.broken)
            errors = self._errors(run.out or run.err)
            if not any(m.startswith("rego_") for _, m in errors):
                return Evaluation(tuple(self._one(p, data_input) for p in packages), self.broken)
            before = (dict(self.broken), set(self.v0))
            self._diagnose()
            if (self.broken, self.v0) == before:  # an error only the whole set has: leave out the files it names
                self.broken.update((p, m) for p, m in errors if p is not None and p not in before[0])
            if (self.broken, self.v0) == before:
                message = "; ".join(m for _, m in errors) or run.err.strip()[:500]
                failure = QueryResult("error", message=f"opa could not compile the policies: {message}")
                return Evaluation(tuple(failure for _ in packages), self.broken)
        failure = QueryResult("error", message="opa could not compile the policies after leaving out broken files")
        return Evaluation(tuple(failure for _ in packages), self.broken)

    def _one(self, package: str, data_input: Mapping[str, Any]) -> QueryResult:
        """One package on its own, after an evaluation error in the combined query."""
        query = "data" + "".join(f"[{json.dumps(s)}]" for s in package_segments(package))
        run = self._eval(query, data_input)
        if run.timed_out:
            message = f"opa eval did not finish within {self.engine.timeout_seconds:g} s (stopped)"
            return QueryResult("timeout", message=message)
        if run.code != 0:
            message = "; ".join(m for _, m in self._errors(run.out or run.err)) or run.err.strip()[:500]
            return QueryResult("error", message=message, code="policy-eval-error")
        return _value(run.out)


def _value(text: str) -> QueryResult:
    try:
        rows = json.loads(text).get("result") or []
    except (ValueError, AttributeError):
        return QueryResult("error", message="opa answered something that is not JSON", code="policy-bad-result")
    if not rows or not rows[0].get("expressions"):
        return QueryResult("undefined")
    return QueryResult("ok", rows[0]["expressions"][0].get("value"))


def _document(text: str, package: str) -> QueryResult:
    """``data.<package>`` out of the answer to ``data``."""
    whole = _value(text)
    if whole.kind != "ok":
        return whole
    value: Any = whole.value
    for segment in package_segments(package):
        if not isinstance(value, Mapping) or segment not in value:
            return QueryResult("undefined")
        value = value[segment]
    return QueryResult("ok", value)
