"""Task-sequence variables: storage, `%NAME%` expansion and step conditions.

Names are case-insensitive, as in ConfigMgr (`%_smstslastactionsucceeded%` works); the
spelling first used is kept. Secret values are remembered so every output can mask them.
"""

from __future__ import annotations

import operator
import os
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from .fileinfo import file_version, modified_utc, parse_version

__all__ = ["MASK", "Variables", "compare", "evaluate_condition", "expand", "expand_path", "like"]

MASK = "********"
_REF = re.compile(r"%([A-Za-z_][A-Za-z0-9_]*)%")


class Variables(Mapping[str, str]):
    """A case-insensitive map of variable name → value, with the set of secret names."""

    def __init__(self, values: Mapping[str, str] | None = None, secrets: set[str] | None = None) -> None:
        self._values: dict[str, tuple[str, str]] = {}  # folded name → (name, value)
        self._secrets: set[str] = {s.casefold() for s in secrets or ()}
        for k, v in (values or {}).items():
            self.set(k, v)

    def set(self, name: str, value: str, *, secret: bool = False) -> None:
        key = name.casefold()
        shown = self._values[key][0] if key in self._values else name
        self._values[key] = (shown, str(value))
        if secret:
            self._secrets.add(key)

    def __getitem__(self, name: str) -> str:
        return self._values[name.casefold()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.casefold() in self._values

    def __iter__(self) -> Iterator[str]:
        return (shown for shown, _ in self._values.values())

    def __len__(self) -> int:
        return len(self._values)

    def is_secret(self, name: str) -> bool:
        return name.casefold() in self._secrets

    @property
    def secret_values(self) -> frozenset[str]:
        """Values of secret variables (non-empty), for masking in every output."""
        return frozenset(v for k, (_, v) in self._values.items() if k in self._secrets and v)

    def mask(self, text: str) -> str:
        """`text` with every secret value replaced by ********."""
        for value in sorted(self.secret_values, key=len, reverse=True):
            text = text.replace(value, MASK)
        return text

    def to_state(self) -> dict[str, Any]:
        return {"values": dict(self.items()), "secrets": sorted(self._secrets)}

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> Variables:
        return cls(dict(data.get("values", {})), set(data.get("secrets", [])))


def expand(text: str, variables: Mapping[str, str]) -> str:
    """Replace each `%NAME%` by its value; an unknown name stays as it is (ConfigMgr's rule)."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        return variables[name] if name in variables else m.group(0)

    return _REF.sub(sub, text)


def evaluate_condition(cond: Mapping[str, Any] | None, variables: Mapping[str, str]) -> bool:
    """A validated docs/SITE-FORMAT.md condition against the variables (None: always true).

    Evaluated as ConfigMgr's task sequence engine does: `equals`, `not_equals` and the
    ordering operators compare two integers as numbers and anything else as text, ignoring
    case; `like` is WQL's LIKE (`%` any run of characters, `_` one character, `[abc]`,
    `[a-z]` and `[^abc]` sets), ignoring case. A comparison with a variable that does not
    exist is false (and `not_equals` true). File and folder conditions look at the file
    system, the path `%NAME%`-expanded first from the variables, then from the environment.
    """
    if cond is None:
        return True
    if "all" in cond:
        return all(evaluate_condition(c, variables) for c in cond["all"])
    if "any" in cond:
        return any(evaluate_condition(c, variables) for c in cond["any"])
    if "not" in cond:
        return not evaluate_condition(cond["not"], variables)
    if "file" in cond or "folder" in cond:
        return _path_condition(cond, variables)
    if "unsupported" in cond:  # only on disabled steps, which are never evaluated
        raise ValueError(f"the condition {cond['unsupported']} cannot be evaluated here")
    name: str = cond["variable"]
    op: str = cond["op"]
    present = name in variables
    if op == "exists":
        return present
    if op == "not_exists":
        return not present
    value = str(cond.get("value", ""))
    if not present:
        return op == "not_equals"
    actual = variables[name]
    if op == "like":
        return like(actual, value)
    return compare(op, actual, value)


# ConfigMgr compares as numbers only when both values are integers.
_INTEGER = re.compile(r"^\s*[+-]?[0-9]+\s*\Z", re.ASCII)


def compare(op: str, left: str, right: str) -> bool:
    """`left OP right`: as numbers when both are integers, else as text ignoring case."""
    a: Any
    b: Any
    if _INTEGER.match(left) and _INTEGER.match(right):
        a, b = int(left), int(right)
    else:
        a, b = left.casefold(), right.casefold()
    return bool(_ORDER[op](a, b))


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "equals": operator.eq,
    "not_equals": operator.ne,
    "greater": operator.gt,
    "greater_equal": operator.ge,
    "less": operator.lt,
    "less_equal": operator.le,
}


def like(text: str, pattern: str) -> bool:
    """WQL's LIKE, ignoring case: `%`, `_`, `[abc]`, `[a-z]`, `[^abc]`; anything else is itself."""
    return _like_regex(pattern).fullmatch(text) is not None


@lru_cache(maxsize=256)
def _like_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        elif c == "[" and (end := pattern.find("]", i + 2)) > 0:
            body = pattern[i + 1:end]
            negate = body.startswith("^")
            if negate:
                body = body[1:]
            parts: list[str] = []
            j = 0
            while j < len(body):
                if j + 2 < len(body) and body[j + 1] == "-":
                    parts.append(f"{re.escape(body[j])}-{re.escape(body[j + 2])}")
                    j += 3
                else:
                    parts.append(re.escape(body[j]))
                    j += 1
            out.append(f"[{'^' if negate else ''}{''.join(parts)}]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def expand_path(text: str, variables: Mapping[str, str]) -> str:
    """`%NAME%` from the task-sequence variables, then from the environment (ConfigMgr's
    rule for the paths of file and folder conditions)."""

    def from_env(m: re.Match[str]) -> str:
        return os.environ.get(m.group(1), m.group(0))

    return _REF.sub(from_env, expand(text, variables))


def _path_condition(cond: Mapping[str, Any], variables: Mapping[str, str]) -> bool:
    is_file = "file" in cond
    text = expand_path(cond["file"] if is_file else cond["folder"], variables)
    if os.sep == "/":
        # An imported sequence writes Windows paths ("%_SMSTSMDataPath%\\x.txt"): a backslash
        # separates folders here too.
        text = text.replace("\\", "/")
    path = Path(text)
    if not (path.is_file() if is_file else path.is_dir()):
        return False
    if (version := cond.get("version")) is not None:
        found = file_version(path)
        if found is None or not _ORDER[version["op"]](found, parse_version(version["value"])):
            return False
    if (date := cond.get("date")) is not None:
        stamp = modified_utc(path)
        wanted = datetime.fromisoformat(date["value"]).astimezone(UTC).replace(microsecond=0)
        if stamp is None or not _ORDER[date["op"]](stamp, wanted):
            return False
    return True
