"""Task-sequence variables: storage, `%NAME%` expansion and step conditions.

Names are case-insensitive, as in ConfigMgr (`%_smstslastactionsucceeded%` works); the
spelling first used is kept. Secret values are remembered so every output can mask them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["MASK", "Variables", "evaluate_condition", "expand"]

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

    `equals`/`not_equals` compare case-insensitively, as ConfigMgr's variable conditions do.
    """
    if cond is None:
        return True
    if "all" in cond:
        return all(evaluate_condition(c, variables) for c in cond["all"])
    if "any" in cond:
        return any(evaluate_condition(c, variables) for c in cond["any"])
    if "not" in cond:
        return not evaluate_condition(cond["not"], variables)
    name, op = cond["variable"], cond["op"]
    present = name in variables
    if op == "exists":
        return present
    if op == "not_exists":
        return not present
    equal = present and variables[name].casefold() == str(cond.get("value", "")).casefold()
    return equal if op == "equals" else not equal
