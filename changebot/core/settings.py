"""changebot's own settings: ``.maestro/changebot.yaml``, always read from the base branch.

Absent means every default. Each key is documented, with its default, in ``schemas/changebot.schema.json``
and in the README ("Settings"). The file is validated against that schema; an invalid settings file is a
finding of the ``schema`` gate and the defaults are used for the keys that could not be read, so that a broken
settings file can never loosen a gate by accident (every default is the strict choice).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from changebot.core.documents.load import DEFAULT_LIMITS, Limits
from changebot.model import GateId, GateMode


@dataclass(frozen=True)
class Settings:
    """Parsed settings. ``raw`` keeps the mapping as written, for sections read by later gates."""

    limits: Limits = DEFAULT_LIMITS
    raw: Mapping[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> Mapping[str, Any]:
        """The mapping under top-level key ``name``, or an empty one."""
        value = self.raw.get(name)
        return value if isinstance(value, Mapping) else {}

    def mode(self, gate: GateId) -> GateMode:
        """How ``gate`` counts: ``gates: {<gate>: {mode}}``, else the global ``mode``, else ``enforce``.

        A value that is not one of ``enforce``, ``advisory``, ``off`` means ``enforce`` (the schema gate reports
        it), so a typo never loosens a gate.
        """
        per_gate = self.section("gates").get(str(gate))
        if isinstance(per_gate, Mapping) and "mode" in per_gate:
            return _mode(per_gate["mode"])
        return _mode(self.raw.get("mode", GateMode.ENFORCE.value))


_MODES = {m.value: m for m in GateMode}


def _mode(value: Any) -> GateMode:
    return _MODES.get(value, GateMode.ENFORCE) if isinstance(value, str) else GateMode.ENFORCE


DEFAULT_SETTINGS = Settings()


def _positive_int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def parse_settings(data: Any) -> Settings:
    """Build ``Settings`` from the loaded mapping (already schema-checked by the caller, or not at all).

    Values of the wrong type fall back to their defaults here; the schema gate reports them.
    """
    if not isinstance(data, Mapping):
        return DEFAULT_SETTINGS
    limits_raw = data.get("limits")
    limits = Limits()
    if isinstance(limits_raw, Mapping):
        limits = Limits(
            max_file_bytes=_positive_int(limits_raw.get("max_file_bytes"), limits.max_file_bytes),
            max_repo_bytes=_positive_int(limits_raw.get("max_repo_bytes"), limits.max_repo_bytes),
            max_nodes=_positive_int(limits_raw.get("max_nodes"), limits.max_nodes),
        )
    return Settings(limits=limits, raw=dict(data))
