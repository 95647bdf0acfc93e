"""The worklist page's lists beside its rows (reminders, tasks, covers): `day`, what
`{{ value|date:fmt }}` writes (config.date_format), and `case_url`, what
`{% url 'navigator:case_detail' pk %}` writes (navigator.worklist.row_html), each at a
fraction of the cost: the page has up to a hundred of each."""

from __future__ import annotations

from typing import Any

from django import template

from config.date_format import format_date
from navigator.worklist.row_html import case_url as _case_url

register = template.Library()


@register.filter(expects_localtime=True, is_safe=False)
def day(value: Any, fmt: str) -> str:
    """`value|day:fmt` is `value|date:fmt`."""
    return format_date(value, fmt)


@register.filter(is_safe=False)
def case_url(pk: int) -> str:
    """`pk|case_url` is `{% url 'navigator:case_detail' pk %}`."""
    return _case_url(pk)
