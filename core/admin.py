"""What the staff lists of big tables share: bounded counts and searches that use indexes.

A changelist of 100,000 rows must answer as fast as one of 100 (bench/admin_lists.py):

- **No full count.** Django counts the whole table (``show_full_result_count``) and the filtered
  rows (for the pages) on every page. ``CappedCountPaginator`` counts at most ``COUNT_CAP`` + 1
  rows — a bounded scan — and the pagination then says "more than 10,000".
- **Searches that look like an identifier find it through its index**: ``exact_searches`` maps
  a pattern (a Partner ID, a case or invoice number, a Stripe id, an email address) to the
  field it names, searched with ``=`` (an email address: ``iexact``); only free text falls back
  to the ``search_fields`` (``icontains``) of the admin. A field across a relation (``organization__partner_id``) is
  read from the related table first, so the list's own query filters on its foreign key: an
  ``OR`` of conditions on one table combines their indexes, an ``OR`` across a join reads every
  row (a case by Partner ID or number at 100,000 cases, bench/admin_lists.py on a quiet
  machine: p95 167 ms joined, 33–52 ms so; docs/scale.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Model, Q, QuerySet
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


def exactly(
    *fields: str, transform: Callable[[str], object] = str
) -> Callable[[str, type[Model]], Q]:
    """An ``exact_searches`` condition: any of ``fields`` equal to the (transformed) term."""

    def condition(term: str, model: type[Model]) -> Q:
        value = transform(term)
        found = Q()
        for field in fields:
            found |= _on_own_columns(model, field, value)
        return found

    return condition


def _on_own_columns(model: type[Model], lookup: str, value: object) -> Q:
    """``Q(lookup=value)`` on ``model``'s own columns: through a relation, the ids of the related
    rows that match are read first (one query, on the related table's index), so an ``OR`` with
    the list's other conditions combines their indexes instead of joining every row."""
    name, _, rest = lookup.partition("__")
    field = None if name == "pk" or not rest else model._meta.get_field(name)
    if field is None or not field.many_to_one:
        return Q(**{lookup: value})
    related = field.related_model._default_manager.filter(
        _on_own_columns(field.related_model, rest, value)
    )
    return Q(**{f"{field.attname}__in": list(related.values_list("pk", flat=True))})


class LargeTableAdmin(admin.ModelAdmin):
    """A ``ModelAdmin`` for a table that grows without end (cases, orders, the audit trail).

    ``exact_searches``: (pattern, condition) tried in order; the first pattern that matches the
    whole search term makes the only search, ``condition(term, model)`` (the pattern's last
    group, if it has one, and the list's model), a ``Q`` that an index answers (``exactly(...)``
    builds the usual one).
    """

    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50
    exact_searches: Sequence[tuple[re.Pattern[str], Callable[[str, type[Model]], Q]]] = ()

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        for pattern, condition in self.exact_searches:
            match = pattern.fullmatch(term)
            if match:
                term = match.group(match.lastindex or 0)
                return queryset.filter(condition(term, queryset.model)), False
        return super().get_search_results(request, queryset, search_term)
