"""JUnit XML for scenario results, so CI systems can show them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from orchestrator.scenarios.runner import Outcome


def write(outcomes: Sequence[Outcome], path: Path) -> None:
    failures = sum(1 for o in outcomes if not o.passed and o.error is None)
    errors = sum(1 for o in outcomes if o.error is not None)
    suite = ET.Element(
        "testsuite",
        name="scenarios",
        tests=str(len(outcomes)),
        failures=str(failures),
        errors=str(errors),
        time=f"{sum(o.seconds for o in outcomes):.3f}",
    )
    for outcome in outcomes:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="scenarios",
            name=outcome.name,
            file=str(outcome.path),
            time=f"{outcome.seconds:.3f}",
        )
        if outcome.error is not None:
            ET.SubElement(case, "error", message=outcome.error).text = outcome.error
        elif not outcome.passed:
            text = "\n".join(outcome.failures)
            ET.SubElement(case, "failure", message=outcome.failures[0]).text = text
        if outcome.run_dir is not None:
            ET.SubElement(case, "system-out").text = f"run directory: {outcome.run_dir}"
        if outcome.warnings:
            text = "\n".join(f"warning: {w}" for w in outcome.warnings)
            ET.SubElement(case, "system-err").text = text
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
