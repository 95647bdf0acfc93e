"""The day's printed batch of patient letters.

Reminder rules on the letter channel schedule `PatientMessage` rows like any other
(text already composed in the patient's language); the sending sweep leaves them
alone. Once a day the mail room prints them: `letter_batch_print` marks every letter
due by that day (in the patient's own time zone) as sent, printed in that day's
batch, and `letter_batch_pdf` is the batch to print, one letter after another in
mail-room order (postal code, then name), the address placed for a window envelope.

Printing is idempotent: a second run the same day prints only letters scheduled
since, which join the same day's batch. Letters that cannot go out are kept as
suppressed with the reason (no postal address, patient deceased, characters the
letter font cannot print), and the case's timeline says so.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable
from xml.sax.saxutils import escape

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    FrameBreak,
    KeepInFrame,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
)

from navigator.cases import case_lock, event_record
from navigator.models import CaseEventKind, NavigationCase, User
from outreach.letters.case_letter import (
    REFERENCE,
    letter_date,
    letter_styles,
    letterhead,
    line_breaks,
    postal_address,
    unprintable,
)
from outreach.models import MessageState, PatientMessage
from outreach.selectors import letters_due, letters_printed_on
from patients.languages import language_name

NO_ADDRESS = "no postal address"
DECEASED = "patient deceased"  # as the sending sweep says it

# Where things go on a US Letter page folded in three for a #10 window envelope:
# the window shows 4½ × 1⅛ inches, ⅞ inch from the left, about 2 inches down.
PAGE_WIDTH, PAGE_HEIGHT = LETTER
MARGIN = inch
WINDOW_LEFT = 1.0 * inch
WINDOW_TOP = 2.0 * inch
WINDOW_WIDTH = 3.75 * inch
WINDOW_HEIGHT = 1.1 * inch
BODY_TOP = 3.4 * inch
BOTTOM = 0.8 * inch


class LetterBatchError(ValueError):
    """A batch that cannot be printed or shown, with what to do instead."""


class NoLetterBatch(LetterBatchError):
    """No letters were printed on that day."""


def reason_not_to_print(message: PatientMessage) -> str:
    """Why a due letter will not be printed; "" if it will. The patient must be loaded."""
    patient = message.patient
    if patient.deceased:
        return DECEASED
    if not patient.address_line1.strip():
        return NO_ADDRESS
    if not message.body.strip():
        return "the letter has no text"
    missing = unprintable(
        "\n".join([patient.full_name, *postal_address(patient), message.subject, message.body])
    )
    if missing:
        return (
            f"characters the letter font cannot print ({' '.join(missing[:10])}); "
            "call with an interpreter instead"
        )
    return ""


# --- Printing --------------------------------------------------------------------------------


def letter_batch_print(*, day: dt.date, actor: User) -> int:
    """Print the batch of `day`: every scheduled letter due by then is marked sent and
    printed on `day`; how many. Those that cannot go out are suppressed with the reason.

    One transaction; the cases first, then the letters, each in pk order (the lock
    order everywhere else). Running it again prints only letters due since.
    """
    if not (actor.is_authenticated and actor.sees_all_cases):
        raise PermissionDenied("Only a program manager can print the day's letters.")
    if day > timezone.localdate():
        raise LetterBatchError(
            f"{day:%B} {day.day} has not come yet: print a day's letters on that day."
        )
    with transaction.atomic():
        due = letters_due(day=day)
        case_ids = sorted(set(due.exclude(case=None).values_list("case_id", flat=True)))
        cases = {case_id: case_lock(case_id) for case_id in case_ids}
        letters = list(
            PatientMessage.objects.select_for_update(of=("self",))
            .select_related("patient")
            # Only letters whose case is locked above: one scheduled a moment ago
            # for another case waits for the next run.
            .filter(Q(case=None) | Q(case_id__in=case_ids), pk__in=due.values("pk"))
            .order_by("pk")
        )
        now = timezone.now()
        printed: list[PatientMessage] = []
        suppressed: dict[str, list[PatientMessage]] = defaultdict(list)
        for letter in letters:
            reason = reason_not_to_print(letter)
            if reason:
                suppressed[reason].append(letter)
            else:
                printed.append(letter)
        PatientMessage.objects.filter(pk__in=[letter.pk for letter in printed]).update(
            state=MessageState.SENT, state_reason="", sent_at=now, printed_on=day, claimed_at=None
        )
        for reason, group in suppressed.items():
            PatientMessage.objects.filter(pk__in=[letter.pk for letter in group]).update(
                state=MessageState.SUPPRESSED, state_reason=reason[:300]
            )
        for letter in printed:
            _record(cases, letter, actor=actor, day=day)
        for reason, group in suppressed.items():
            if reason == DECEASED:
                continue  # the death is on the record already; nobody is to call
            for letter in group:
                _record(cases, letter, actor=actor, day=day, reason=reason)
        return len(printed)


def _describe(letter: PatientMessage) -> str:
    return f"{letter.get_kind_display()} letter in {language_name(letter.language)}"


def _record(
    cases: dict[int, NavigationCase],
    letter: PatientMessage,
    *,
    actor: User,
    day: dt.date,
    reason: str = "",
) -> None:
    if letter.case_id is None:
        return
    case = cases[letter.case_id]
    # No "language" key in the data: the case letter's once-a-day check
    # (outreach.letters.printed.letter_mark) looks for one and must not match these.
    data = {"message": letter.pk, "kind": letter.kind, "printed_on": day.isoformat()}
    if reason:
        event_record(
            case=case,
            kind=CaseEventKind.MESSAGE_SUPPRESSED,
            actor=actor,
            summary=f"{_describe(letter)} not printed: {reason}.",
            data={**data, "reason": reason},
        )
        return
    event_record(
        case=case,
        kind=CaseEventKind.LETTER_PRINTED,
        actor=actor,
        summary=f"{_describe(letter)} printed in the batch of {day.isoformat()}",
        data=data,
    )


# --- The PDF ---------------------------------------------------------------------------------


class _LetterStart(Flowable):
    """Takes no room; tells the continuation pages whose letter they belong to."""

    def __init__(self, heading: str) -> None:
        super().__init__()
        self.heading = heading
        self.width = self.height = 0

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        self.canv._equinav_letter = self.heading


def _continuation(canvas: Canvas, document: BaseDocTemplate) -> None:
    heading = getattr(canvas, "_equinav_letter", "")
    if heading:
        canvas.saveState()
        canvas.setFont("Helvetica", 9)
        canvas.drawString(MARGIN, PAGE_HEIGHT - 0.55 * inch, f"{heading} (continued)")
        canvas.restoreState()


def _frame(frame_id: str, *, left: float, top: float, width: float, bottom: float) -> Frame:
    """A frame by its distance from the page's top-left corner, without padding."""
    return Frame(
        left, bottom, width, PAGE_HEIGHT - top - bottom, id=frame_id,
        leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0,
    )  # fmt: skip


def _document(buffer: io.BytesIO, *, title: str, author: str) -> BaseDocTemplate:
    text_width = PAGE_WIDTH - 2 * MARGIN
    first = PageTemplate(
        id="first",
        frames=[
            _frame("letterhead", left=MARGIN, top=0.6 * inch, width=text_width,
                   bottom=PAGE_HEIGHT - WINDOW_TOP + 0.1 * inch),
            _frame("window", left=WINDOW_LEFT, top=WINDOW_TOP, width=WINDOW_WIDTH,
                   bottom=PAGE_HEIGHT - WINDOW_TOP - WINDOW_HEIGHT),
            _frame("body", left=MARGIN, top=BODY_TOP, width=text_width, bottom=BOTTOM),
        ],
        autoNextPageTemplate="later",
    )  # fmt: skip
    later = PageTemplate(
        id="later",
        frames=[_frame("rest", left=MARGIN, top=0.9 * inch, width=text_width, bottom=BOTTOM)],
        onPage=_continuation,
    )
    return BaseDocTemplate(
        buffer,
        pagesize=LETTER,
        pageTemplates=[first, later],
        title=title,
        author=author,
    )


def _story(letters: Iterable[PatientMessage], *, day: dt.date) -> list[Flowable]:
    style = letter_styles()
    head = letterhead()
    head_lines = [*head["address"], head["phone"]] if head["phone"] else head["address"]
    story: list[Flowable] = []
    for index, letter in enumerate(letters):
        patient = letter.patient
        language = letter.language
        if index:
            story += [NextPageTemplate("first"), PageBreak()]
        story += [
            _LetterStart(f"{patient.full_name}, {letter_date(day, language)}"),
            # Shrunk to fit rather than spilling over: the address must stay in the window.
            KeepInFrame(
                0,
                0,
                [
                    Paragraph(escape(head["organization"]), style["head"]),
                    Paragraph(line_breaks(head_lines), style["small"]),
                ],
                mode="shrink",
            ),
            FrameBreak(),
            KeepInFrame(
                0,
                0,
                [
                    Paragraph(
                        line_breaks([patient.full_name, *postal_address(patient)]), style["plain"]
                    )
                ],
                mode="shrink",
            ),
            FrameBreak(),
            Paragraph(escape(letter_date(day, language)), style["plain"]),
            Spacer(1, 0.3 * inch),
        ]
        if letter.subject.strip():
            story.append(Paragraph(escape(letter.subject), style["subject"]))
        for paragraph in letter.body.replace("\r\n", "\n").split("\n\n"):
            if paragraph.strip():
                story.append(Paragraph(line_breaks(paragraph.strip().split("\n")), style["body"]))
        reference = letter.case_id if letter.case_id is not None else f"M{letter.pk}"
        story += [
            Spacer(1, 0.3 * inch),
            Paragraph(escape(f"{REFERENCE.get(language, 'Ref.')}: {reference}"), style["small"]),
        ]
    return story


def letter_batch_pdf(*, day: dt.date) -> bytes:
    """`day`'s batch as one PDF: each letter on a page of its own (more if long), in
    mail-room order. NoLetterBatch if nothing was printed that day."""
    letters = letters_printed_on(day)
    if not letters:
        raise NoLetterBatch(
            f"No letters were printed on {day.isoformat()}: print the day's letters first."
        )
    buffer = io.BytesIO()
    # The title travels with the file: the day, never a patient's details.
    document = _document(
        buffer, title=f"Letters printed {day.isoformat()}", author=letterhead()["organization"]
    )
    document.build(_story(letters, day=day))
    return buffer.getvalue()
