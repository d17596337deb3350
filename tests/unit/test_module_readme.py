"""The module README's inputs and outputs tables match variables.tf and outputs.tf.

A variable or output added without its row, a row left for one that was removed, or a row
whose type or default says something else than the code fails here. The HCL is scanned, not
parsed: top-level `variable`/`output` blocks and their single `type` and `default`
attributes, which is all the module's files use.
"""

import re
from pathlib import Path

from harness import paths

MODULE = paths.project_root() / "terraform" / "modules" / "s3_upload_api"
README = MODULE / "README.md"


def blocks(path: Path, kind: str) -> dict[str, str]:
    """Each top-level `kind "name" { ... }` block's body, by name (braces counted, strings skipped)."""
    text = path.read_text()
    found: dict[str, str] = {}
    for match in re.finditer(rf'^{kind} "([^"]+)" \{{', text, re.MULTILINE):
        depth, index, in_string = 1, match.end(), False
        while depth:
            char = text[index]
            if in_string:
                if char == "\\":
                    index += 1
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char in "{([":
                depth += 1
            elif char in "})]":
                depth -= 1
            index += 1
        found[match.group(1)] = text[match.end():index - 1]
    return found


def attribute(body: str, name: str) -> str | None:
    """A block's top-level attribute expression (two-space indent), brackets balanced across lines."""
    match = re.search(rf"^  {name}\s*=\s*", body, re.MULTILINE)
    if match is None:
        return None
    depth, index = 0, match.end()
    while index < len(body) and not (body[index] == "\n" and depth == 0):
        depth += (body[index] in "{([") - (body[index] in "})]")
        index += 1
    return body[match.end():index]


def normal(expression: str) -> str:
    """An HCL expression without whitespace or commas, so layouts compare equal."""
    return re.sub(r"[\s,]", "", expression)


def table(section: str) -> dict[str, list[str]]:
    """The rows of the README table under `## section`, by the name in their first cell."""
    text = README.read_text()
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in body.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0].startswith("`"):
            name = cells[0].strip("`")
            assert name not in rows, f"{section}: `{name}` has two rows"
            rows[name] = cells[1:]
    return rows


def test_every_variable_has_its_row_and_every_row_a_variable():
    variables = blocks(MODULE / "variables.tf", "variable")
    rows = table("Inputs")
    assert sorted(set(variables) - set(rows)) == [], "variables without a row in the README's Inputs table"
    assert sorted(set(rows) - set(variables)) == [], "Inputs rows naming no variable of variables.tf"


def test_input_rows_state_the_type_and_default():
    variables = blocks(MODULE / "variables.tf", "variable")
    for name, (description, type_cell, default_cell) in table("Inputs").items():
        body = variables[name]
        assert description, f"{name}: empty description"
        assert normal(type_cell.strip("`")) == normal(attribute(body, "type") or "any"), name
        default = attribute(body, "default")
        if default is None:
            assert default_cell == "required", name
        else:
            assert normal(default_cell.strip("`")) == normal(default), name


def test_every_output_has_its_row_and_every_row_an_output():
    outputs = blocks(MODULE / "outputs.tf", "output")
    rows = table("Outputs")
    assert sorted(set(outputs) - set(rows)) == [], "outputs without a row in the README's Outputs table"
    assert sorted(set(rows) - set(outputs)) == [], "Outputs rows naming no output of outputs.tf"
    assert all(cells and cells[0] for cells in rows.values()), "an Outputs row without a description"


def test_the_scan_finds_every_block():
    """The scan itself: as many blocks as the files have `variable "`/`output "` lines at column 0."""
    for path, kind in ((MODULE / "variables.tf", "variable"), (MODULE / "outputs.tf", "output")):
        lines = [line for line in path.read_text().splitlines() if line.startswith(f'{kind} "')]
        assert len(blocks(path, kind)) == len(lines) > 5
