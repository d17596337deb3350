"""The stack's variables as a user sets them: declared names, checked names, remembered values.

- `declared(stack_dir)`: the variable names the stack's `.tf` files declare. Terraform only
  warns about an undeclared variable in a var file, so a misspelled `--stack-var` would
  otherwise apply the default silently.
- `check_names`: refuses an undeclared name in one line that names the closest declared one.
- `remembered`: a named workspace keeps the variables it was last applied with (in its
  record, harness/lifecycle/workspace.py), so a later `up`, `drift`, `down` or `pytest --workspace`
  works against what is deployed; `--stack-var` changes one, `--unset-stack-var` drops one
  back to the stack's default, and `describe_changes` says what changed.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

VARIABLE_BLOCK = re.compile(r'^\s*variable\s+"([^"]+)"', re.MULTILINE)


def declared(stack_dir: Path) -> frozenset[str]:
    """Names of the variables the stack declares (every `variable "NAME"` block of its .tf files)."""
    names: set[str] = set()
    for path in sorted(stack_dir.glob("*.tf")):
        names.update(VARIABLE_BLOCK.findall(path.read_text(encoding="utf-8")))
    return frozenset(names)


def check_names(names: Iterable[str], known: frozenset[str], flag: str = "--stack-var") -> None:
    """Refuse the first name the stack does not declare, naming the closest one it does."""
    for name in names:
        if name in known:
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        hint = (f"did you mean {flag} {close[0]}=...? " if close else "") + \
            f"declared: {', '.join(sorted(known))}"
        raise HarnessError(f"{flag} {name!r}: the stack declares no variable of that name", hint)


@dataclass(frozen=True)
class VariableChange:
    name: str
    before: Any  # `DEFAULT` when the stack's default applied
    after: Any


DEFAULT = "(stack default)"


def remembered(record: Mapping[str, Any] | None, given: Mapping[str, Any], unset: Iterable[str] = ()) -> dict[str, Any]:
    """The variables to apply: the workspace's remembered ones, changed by `given`, minus `unset`."""
    merged = dict((record or {}).get("stack_vars") or {})
    merged.update(given)
    for name in unset:
        merged.pop(name, None)
    return merged


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[VariableChange]:
    """Per variable, what an apply with `after` changes against `before` (sorted by name)."""
    found = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, DEFAULT), after.get(name, DEFAULT)
        if old != new:
            found.append(VariableChange(name, old, new))
    return found


def _show(value: Any) -> str:
    return value if value == DEFAULT else json.dumps(value, sort_keys=True)


def describe_changes(found: list[VariableChange]) -> list[str]:
    """One line per changed variable, e.g. `authorization: "NONE" -> "AWS_IAM"`."""
    return [f"{change.name}: {_show(change.before)} -> {_show(change.after)}" for change in found]


def describe(values: Mapping[str, Any]) -> str:
    """`name=value` pairs for a one-line summary (`harness workspaces`)."""
    return " ".join(f"{name}={json.dumps(value, sort_keys=True)}" for name, value in sorted(values.items())) or "-"
