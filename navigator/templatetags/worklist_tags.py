"""The worklist page's lists beside its rows (reminders, tasks, covers): `day`, what
`{{ value|date:fmt }}` writes (config.date_format), and `case_url`, what
`{% url 'navigator:case_detail' pk %}` writes (navigator.worklist.row_html), each at a
fraction of the cost: the page has up to a hundred of each. And `cached_filters`, the
filter form drawn once per process for each state of what it shows
(navigator.worklist.filter_html)."""

from __future__ import annotations

from typing import Any

from django import template

from config.date_format import format_date
from navigator.worklist.filter_html import drawn
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


class _CachedFilters(template.Node):
    def __init__(self, key: template.base.FilterExpression, nodelist: template.NodeList):
        self.key = key
        self.nodelist = nodelist

    def render(self, context: template.Context) -> str:
        key = self.key.resolve(context, ignore_failures=True)
        return drawn(key, lambda: self.nodelist.render(context))


@register.tag
def cached_filters(parser: template.base.Parser, token: template.base.Token) -> _CachedFilters:
    """`{% cached_filters key %}...{% end_cached_filters %}`: the block drawn once per
    process for each `key` (navigator.worklist.filter_html; None: drawn every time)."""
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("cached_filters takes one argument: the key")
    nodelist = parser.parse(("end_cached_filters",))
    parser.delete_first_token()
    return _CachedFilters(parser.compile_filter(bits[1]), nodelist)
