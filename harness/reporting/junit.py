"""What the harness adds to a JUnit XML report once pytest's junitxml has written it.

pytest writes the file at the end of the session (`--junitxml`), from what each check
reported while it ran; what the harness learns only at the end (how the run ended, the
access-log lines fetched once for all failed checks) is added to the written file here:
suite properties naming the run (`harness_run_id`, `harness_run_kind`, `harness_run_started`,
`harness_run_status`) and, per failed test case, properties plus a `system-err` section.
Test cases are found by pytest's own naming (classname from the node id's path, name with
its parameters).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from harness.reporting.runs import RunIdentity, utc

PROPERTY_PREFIX = "harness_"


@dataclass
class CaseNotes:
    """What to add to one test case: properties (name, value) and text for its `system-err`."""

    properties: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""


def run_properties(run: RunIdentity) -> list[tuple[str, str]]:
    return [(f"{PROPERTY_PREFIX}run_id", run.id), (f"{PROPERTY_PREFIX}run_kind", run.kind),
            (f"{PROPERTY_PREFIX}run_started", utc(run.started)), (f"{PROPERTY_PREFIX}run_status", run.status)]


def case_address(nodeid: str) -> tuple[str, str]:
    """(classname, name) of a node id as pytest's junitxml writes them (without --junitprefix)."""
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    names[-1] += bracket + params
    return ".".join(names[:-1]), names[-1]


def _properties(element: ET.Element) -> ET.Element:
    """The element's `properties` child, created as its first child (where the schema puts it)."""
    found = element.find("properties")
    if found is None:
        found = ET.Element("properties")
        element.insert(0, found)
    return found


def annotate(path: Path, suite_properties: list[tuple[str, str]],
             cases: dict[str, CaseNotes] | None = None) -> None:
    """Add `suite_properties` to every test suite of the file at `path`, and `cases` (by node id) to their cases."""
    tree = ET.parse(path)
    wanted = {case_address(nodeid): notes for nodeid, notes in (cases or {}).items()}
    for suite in tree.getroot().iter("testsuite"):
        properties = _properties(suite)
        for name, value in suite_properties:
            properties.append(ET.Element("property", name=name, value=value))
        for case in suite.iter("testcase"):
            classname, name = case.get("classname", ""), case.get("name", "")
            notes = next((found for (cls, case_name), found in wanted.items()
                          if case_name == name and classname.endswith(cls)), None)
            if notes is None:
                continue
            case_properties = _properties(case)
            for key, value in notes.properties:
                case_properties.append(ET.Element("property", name=key, value=value))
            if notes.text:
                err = case.find("system-err")
                if err is None:
                    err = ET.SubElement(case, "system-err")
                err.text = ((err.text or "") + ("\n" if err.text else "") + notes.text)
    tree.write(path, encoding="utf-8", xml_declaration=True)


def suite_property(path: Path, name: str) -> str | None:
    """One suite property of a written report (the first suite that has it)."""
    for suite in ET.parse(path).getroot().iter("testsuite"):
        for prop in suite.iterfind("properties/property"):
            if prop.get("name") == name:
                return prop.get("value")
    return None
