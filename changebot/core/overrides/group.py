"""Which pull requests a merge-queue group holds, and which overrides hold for the group. Pure.

GitHub's merge queue builds a merge group on ``gh-readonly-queue/<base>/pr-<N>-<sha>``: the base branch plus
every pull request queued up to and including ``#N``, one first-parent commit each (a merge commit, "Merge pull
request #N from ...", or a squash commit, "Title (#N)"). ``group_numbers`` attributes each first-parent commit
to its pull request; when one cannot be attributed (the rebase merge method writes several commits per pull
request with no number), the group is not known and no override holds for it (fail closed).

``group_overrides`` decides which overrides hold for the group: for each gate, only when **every** pull request
in the group carries an override of that gate that is in force (checked by the caller with the base branch's
override rules for that pull request's head). A freeze override granted on a hotfix therefore lets the hotfix's
own group through, not a group that also carries an ordinary pull request queued behind it. The overrides
returned are carried over to the group's head SHA, so the gates accept them for the commit they judge.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from changebot.model import GateId, Override

_QUEUE_REF = re.compile(r"(?:refs/heads/)?gh-readonly-queue/.+/pr-(\d+)-[0-9a-f]+$")
_MERGE = re.compile(r"\AMerge pull request #(\d+) ")
_SQUASH = re.compile(r"\(#(\d+)\)\s*\Z")


def queued_number(head_ref: str) -> int | None:
    """The pull request a merge group was built for (the last one in it), from its ``head_ref``."""
    match = _QUEUE_REF.match(head_ref)
    return int(match.group(1)) if match else None


def group_numbers(head_ref: str, messages: Sequence[str]) -> tuple[int, ...] | None:
    """The pull requests in a merge group, oldest first, from the messages of its first-parent commits (oldest
    first) and its ``head_ref``; ``None`` when any commit cannot be attributed."""
    last = queued_number(head_ref)
    if last is None or not messages:
        return None
    numbers: list[int] = []
    for index, message in enumerate(messages):
        subject = message.strip().splitlines()[0] if message.strip() else ""
        found = _MERGE.match(subject) or _SQUASH.search(subject)
        if found is None and index == len(messages) - 1:
            numbers.append(last)
        elif found is None:
            return None
        else:
            numbers.append(int(found.group(1)))
    if numbers[-1] != last:
        return None
    return tuple(dict.fromkeys(numbers))


def group_overrides(per_pull: Mapping[int, Sequence[Override]], head_sha: str) -> list[Override]:
    """The overrides that hold for a group: per gate, one from each pull request when every one has one in
    force (``per_pull``: each pull request's overrides in force), carried to the group's ``head_sha``."""
    if not per_pull:
        return []
    out: list[Override] = []
    for gate in GateId:
        held = [next((o for o in overrides if o.gate is gate), None) for overrides in per_pull.values()]
        if all(o is not None for o in held):
            out.extend(replace(o, head_sha=head_sha) for o in held if o is not None)
    return out
