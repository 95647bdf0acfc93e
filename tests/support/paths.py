"""Where things are, from the project root: the same for a test at any depth under tests/."""

from __future__ import annotations

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def _ecqm() -> Path:
    """The official eCQM packages (value sets, CMS test cases, expected MeasureReports),
    kept next to the project rather than inside it: beside the checkout, or beside the
    folder that holds a git worktree (wt/<name>/)."""
    for parent in BASE_DIR.parents:
        if (parent / "shared" / "ecqm").is_dir():
            return parent / "shared" / "ecqm"
    return BASE_DIR.parent / "shared" / "ecqm"


ECQM = _ecqm()
# axe-core, from npm (`npm ci --prefix tests/a11y`): the accessibility tests inject it.
AXE = BASE_DIR / "tests" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
