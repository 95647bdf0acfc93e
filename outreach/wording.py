"""What staff-facing outreach text calls a programme's work (issue 16).

A screening programme's work is a screening ("colorectal cancer screening"); a control
programme's is keeping a condition under control ("diabetes control"): its patients
are not screened, they are tested (HbA1c) and coached. Patient-facing texts are data
(`MessageTemplate`, `CallGuide`): a control programme has its own, and never borrows
the screening letter (`outreach.letters.case_letter.letter_template_for`).
"""

from __future__ import annotations

from patients.models import ProgramKind, ScreeningProgram


def program_work(program: ScreeningProgram) -> str:
    """The programme's work in a sentence, lower case: "colorectal cancer screening",
    "diabetes control"."""
    name = program.name.lower()
    if program.kind == ProgramKind.CONTROL:
        return name
    return name if name.endswith("screening") else f"{name} screening"
