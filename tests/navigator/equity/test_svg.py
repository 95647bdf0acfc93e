"""A chart as inline SVG for the page and as a reportlab drawing for the PDF: an image
with a text alternative, a table holding every figure it shows, labels escaped, no
resource loaded from anywhere, and the same words in the PDF, without a hidden number."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
from reportlab.graphics import renderPDF
from reportlab.pdfgen.canvas import Canvas

from navigator.equity import chart_styles
from navigator.equity.charts import Chart, dot_whisker, funnel, gap_trend, trend
from navigator.equity.pdf_charts import chart_drawing, draw_chart
from navigator.equity.stats import stratified_statistics
from navigator.equity.svg import render_chart
from tests.support.paths import BASE_DIR

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & Co'


def rows(hostile: bool = False):
    """White (reference) 300/500, Hispanic or Latino 150/400, Black 88/200; Asian at
    5/30 is hidden, and Some other race (47/66) with it."""
    return stratified_statistics(
        [
            ("white", "White", 300, 500),
            ("hispanic", HOSTILE if hostile else "Hispanic or Latino", 150, 400),
            ("black", "Black or African American", 88, 200),
            ("asian", "Asian", 5, 30),
            ("other", "Some other race", 47, 66),
        ],
        "white",
    )


def a_dot_whisker(hostile: bool = False) -> Chart:
    return dot_whisker(
        rows(hostile), reference_rate=0.6, title="Screened by race", measure_label="Screened"
    )


def every_chart() -> list[Chart]:
    quarters = [f"2025 Q{q}" for q in (1, 2, 3, 4)]
    return [
        a_dot_whisker(),
        trend(
            {
                "White": [(q, 0.6 + i / 100, 0.55, 0.68) for i, q in enumerate(quarters)],
                "Hispanic or Latino": [
                    (q, None, None, None) if i == 2 else (q, 0.4 + i / 50, 0.35, 0.52)
                    for i, q in enumerate(quarters)
                ],
            },
            title="Screening by quarter",
        ),
        gap_trend(
            [(q, -0.15 + i / 25, -0.21 + i / 25, -0.09 + i / 25) for i, q in enumerate(quarters)]
        ),
        funnel([("Referred", 1200), ("Reached", 900), ("Scheduled", None), ("Done", 300)]),
    ]


def xml(text: str) -> ET.Element:
    # Our own output, written by our template: well-formed XML is part of what is tested.
    return ET.fromstring(text)  # noqa: S314


def parsed(chart: Chart, **kw) -> ET.Element:
    return xml(render_chart(chart, **kw))


def test_the_chart_is_an_image_named_by_its_title_and_description():
    figure = parsed(a_dot_whisker())

    svg = figure.find(f"{SVG}svg")
    assert svg is not None and svg.get("role") == "img"
    title_id, desc_id = svg.get("aria-labelledby").split()
    assert svg.find(f"{SVG}title").get("id") == title_id
    assert svg.find(f"{SVG}title").text == "Screened by race"
    assert svg.find(f"{SVG}desc").get("id") == desc_id
    assert "reference group's rate, 60.0%" in svg.find(f"{SVG}desc").text
    assert svg.get("viewBox") == "0 0 640 " + svg.get("height")


def test_the_data_table_holds_every_number_the_picture_shows():
    for chart in every_chart():
        figure = parsed(chart)
        table = figure.find(".//table")
        assert table.find("caption").text == chart.table.caption
        cells = " ".join(cell.text or "" for cell in table.iter() if cell.tag in ("th", "td"))
        for text in figure.find(f"{SVG}svg").iter(f"{SVG}text"):
            if "chart__tick-label" in text.get("class"):
                continue  # the axis, not a figure
            for number in re.findall(r"[+-]?\d[\d,]*(?:\.\d+)?", "".join(text.itertext())):
                assert number in cells, (chart.kind, number)


def test_a_hostile_group_name_is_shown_as_text_never_as_markup():
    html = render_chart(a_dot_whisker(hostile=True))

    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    figure = xml(html)
    assert figure.find(".//script") is None and figure.find(f".//{SVG}script") is None
    row_headers = [th.text for th in figure.iter("th") if th.get("scope") == "row"]
    assert HOSTILE in row_headers


def test_a_suppressed_group_reads_less_than_eleven_in_picture_and_table():
    figure = parsed(a_dot_whisker())

    notes = [
        "".join(t.itertext()) for t in figure.iter(f"{SVG}text") if "chart__note" in t.get("class")
    ]
    assert notes == ["Suppressed", "Suppressed"]
    asian = [tr for tr in figure.iter("tr") if tr.find("th").text == "Asian"][0]
    assert [td.text for td in asian.findall("td")] == [
        "Suppressed",
        "Suppressed",
        "Suppressed",
        None,
    ]


def test_a_shortened_label_carries_its_full_text_as_a_title():
    long_name = "Native Hawaiian or Other Pacific Islander, and one more long clause"
    chart = dot_whisker(
        stratified_statistics([("n", long_name, 50, 100), ("w", "White", 60, 100)], "w"),
        reference_rate=0.6,
        title="t",
        measure_label="Screened",
    )

    figure = parsed(chart)

    (shortened,) = [t for t in figure.iter(f"{SVG}text") if t.find(f"{SVG}title") is not None]
    assert shortened.find(f"{SVG}title").text == long_name
    assert shortened.find(f"{SVG}title").tail.endswith("…")


def test_ids_are_unique_per_chart_on_a_page_and_stable():
    charts = every_chart()
    page = "<main>" + "".join(render_chart(chart) for chart in charts) + "</main>"

    ids = [element.get("id") for element in xml(page).iter() if element.get("id")]
    assert len(ids) == len(set(ids)) == 4 * 4  # figure, title, desc, caption per chart
    assert render_chart(charts[0]) == render_chart(charts[0])
    assert parsed(charts[0], chart_id="race-chart").get("id") == "race-chart"


def test_nothing_is_loaded_from_elsewhere():
    for chart in every_chart():
        html = render_chart(chart)
        assert "<script" not in html and "href" not in html and "url(" not in html
        assert re.findall(r"https?://[^\"]+", html) == ["http://www.w3.org/2000/svg"]


def test_every_class_a_mark_carries_is_styled_in_the_stylesheet():
    css = (BASE_DIR / "config" / "static" / "css" / "equinav.css").read_text()
    used = {name for chart in every_chart() for m in chart.marks for name in m.css_class.split()}

    assert used <= set(chart_styles.STYLES)
    missing = [name for name in used if not re.search(rf"\.{re.escape(name)}\b(?!-)", css)]
    assert missing == []


def pdf_text(chart: Chart) -> str:
    pypdf = pytest.importorskip("pypdf")
    document = renderPDF.drawToString(chart_drawing(chart, width=468))
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(document)).pages)


def test_the_pdf_drawing_shows_the_labels_and_no_hidden_number():
    text = pdf_text(a_dot_whisker())

    for label in ("White (reference)", "Hispanic or Latino", "Asian", "Suppressed"):
        assert label in text
    # Asian (5/30, 16.7%) and Some other race (47/66, 71.2%) are hidden
    for hidden in ("16.7", "71.2"):
        assert hidden not in text


def test_the_pdf_draws_every_chart_at_the_size_asked():
    for chart in every_chart():
        drawing = chart_drawing(chart, width=320)
        assert drawing.width == 320
        assert drawing.height == pytest.approx(chart.height * 320 / chart.width)
        assert renderPDF.drawToString(drawing).startswith(b"%PDF")
    funnel_text = pdf_text(every_chart()[3])
    assert "1,200 (100.0%)" in funnel_text and "Suppressed" in funnel_text


def test_a_chart_can_be_drawn_on_a_report_page():
    buffer = io.BytesIO()
    canvas = Canvas(buffer)

    height = draw_chart(canvas, every_chart()[1], x=72, y=400, width=468)
    canvas.save()

    assert height == pytest.approx(every_chart()[1].height * 468 / 640)
    assert buffer.getvalue().startswith(b"%PDF")
