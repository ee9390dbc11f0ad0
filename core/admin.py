"""What the staff lists of big tables share: bounded counts and searches that use indexes.

A changelist of 100,000 rows must answer as fast as one of 100 (bench/admin_lists.py):

- **No full count.** Django counts the whole table (``show_full_result_count``) and the filtered
  rows (for the pages) on every page. ``CappedCountPaginator`` counts at most ``COUNT_CAP`` + 1
  rows — a bounded scan — and the pagination then says "more than 10,000".
- **Searches that look like an identifier find it through its index**: ``exact_searches`` maps
  a pattern (a Partner ID, a case or invoice number, a Stripe id, an email address) to the
  field it names, searched with ``=``; only free text falls back to the ``search_fields``
  (``icontains``) of the admin.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.utils.functional import cached_property

# Beyond this many matching rows a list says "more than 10,000": refine with a filter or search.
COUNT_CAP = 10_000

PARTNER_ID = re.compile(r"\d{7}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


class CappedCountPaginator(Paginator):
    """A paginator that counts at most ``COUNT_CAP`` + 1 rows (``capped`` tells whether it did)."""

    @cached_property
    def count(self) -> int:
        object_list = self.object_list
        if isinstance(object_list, QuerySet):
            return object_list.order_by()[: COUNT_CAP + 1].count()
        return len(object_list)

    @property
    def capped(self) -> bool:
        return self.count > COUNT_CAP


def exactly(*fields: str, transform: Callable[[str], object] = str) -> Callable[[str], Q]:
    """An ``exact_searches`` condition: any of ``fields`` equal to the (transformed) term."""

    def condition(term: str) -> Q:
        value = transform(term)
        found = Q()
        for field in fields:
            found |= Q(**{field: value})
        return found

    return condition


class LargeTableAdmin(admin.ModelAdmin):
    """A ``ModelAdmin`` for a table that grows without end (cases, orders, the audit trail).

    ``exact_searches``: (pattern, condition) tried in order; the first pattern that matches the
    whole search term makes the only search, ``condition(term)`` (the pattern's last group, if it
    has one), a ``Q`` that an index answers (``exactly(...)`` builds the usual one).
    """

    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50
    exact_searches: Sequence[tuple[re.Pattern[str], Callable[[str], Q]]] = ()

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        for pattern, condition in self.exact_searches:
            match = pattern.fullmatch(term)
            if match:
                return queryset.filter(condition(match.group(match.lastindex or 0))), False
        return super().get_search_results(request, queryset, search_term)
