"""What every app's admin shares."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.views.main import SEARCH_VAR, ChangeList
from django.http import HttpResponseBadRequest, QueryDict

SEARCH_IN_URL = (
    "Search with the search box: a name, MRN or phone number in the address would be kept in logs."
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records to look at, never to edit here: they are written by the services (and
    their pages and API), which check every value, lock what they change and record
    who changed what on the case's timeline. An edit or a delete in the admin would
    skip all three."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SearchInBodyAdmin(admin.ModelAdmin):
    """An admin whose search box finds patients by name, MRN or phone: the search is
    posted (config/templates/admin/search_form.html), so that it never goes into an
    address (access logs, proxies, browser history, Referer). The list it answers
    links its pages and filters without the search, as the app's own lists do, and a
    search sent in an address is refused."""

    search_in_body = True

    def changelist_view(self, request, extra_context=None):
        if SEARCH_VAR in request.GET:
            return HttpResponseBadRequest(SEARCH_IN_URL, content_type="text/plain")
        is_search = (
            request.method == "POST"
            and SEARCH_VAR in request.POST
            and "action" not in request.POST
            and "_save" not in request.POST
        )
        if is_search:
            query = request.GET.copy()
            query[SEARCH_VAR] = request.POST[SEARCH_VAR]
            request.GET = query
            request.method = "GET"  # a search, not an action or list edit (CSRF checked)
        return super().changelist_view(request, extra_context)

    def get_changelist(self, request, **kwargs):
        return ChangeListWithoutSearchInLinks

    def get_preserved_filters(self, request):
        preserved = super().get_preserved_filters(request)
        if not preserved:
            return preserved
        filters = QueryDict(QueryDict(preserved).get("_changelist_filters", ""), mutable=True)
        filters.pop(SEARCH_VAR, None)
        return urlencode({"_changelist_filters": filters.urlencode()}) if filters else ""


class ChangeListWithoutSearchInLinks(ChangeList):
    def get_query_string(self, new_params=None, remove=None):
        return super().get_query_string(new_params, [*(remove or []), SEARCH_VAR])
