"""Checks of the Git names users give gpuctl: branch names, revisions and sub-paths.

They follow `git check-ref-format`'s rules for branches, accept a revision only as a ref or
SHA with `~N`/`^N`/`@{N}` suffixes (no `rev:path` tree lookups, no ranges, nothing that reads
as a command-line option), and keep a sub-path inside the repository (relative, no `..`).
Each function returns its input unchanged or raises `ValueError` saying what a valid one is.
"""

from __future__ import annotations

import re

_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_REVISION = re.compile(r"^[A-Za-z0-9._/+-]+(?:@\{[0-9]+\}|[~^][0-9]*)*$")
_MAX_LENGTH = 255


def check_branch(name: str) -> str:
    """`name` if it is a valid branch name (`git check-ref-format --branch` rules)."""
    problems = [
        (not name or len(name) > _MAX_LENGTH, "must be 1 to 255 characters"),
        (name.startswith(("-", "/", ".")) or name.endswith(("/", ".", ".lock")),
         "may not start with -, / or . nor end with /, . or .lock"),
        (bool(_REF_FORBIDDEN.search(name)), "may not contain spaces, control characters or ~ ^ : ? * [ \\"),
        (".." in name or "//" in name or "@{" in name or name == "@", "may not contain .., // or @{"),
        (any(part.startswith(".") or part.endswith(".lock") for part in name.split("/")),
         "no path component may start with . or end with .lock"),
    ]
    for bad, rule in problems:
        if bad:
            raise ValueError(f"invalid branch name {name!r}: a branch name {rule}")
    return name


def check_revision(revision: str) -> str:
    """`revision` if it names a commit by ref or SHA (optionally with ~N, ^N, @{N})."""
    too_long = len(revision) > _MAX_LENGTH
    if too_long or revision.startswith("-") or ".." in revision or not _REVISION.match(revision):
        expected = "give a branch, tag or commit SHA, e.g. main, v1.2, HEAD~1"
        raise ValueError(f"invalid revision {revision!r}: {expected}")
    return revision


def check_subpath(path: str) -> str:
    """`path` if it is a relative path inside the repository ('' for its root)."""
    text = path.strip()
    if "\x00" in text or text.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", text):
        raise ValueError(f"invalid path {path!r}: give a directory relative to the repository root")
    if any(part == ".." for part in re.split(r"[/\\]", text)):
        raise ValueError(f"invalid path {path!r}: it may not leave the repository (no .. components)")
    return text.strip("/")
