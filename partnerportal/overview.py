"""The staff overview: the admin's first page (docs/staff.md).

Staff with ``billing.view_overview`` (every staff group has it) open ``/admin/`` to the day's
billing cycle, renewals to come, past-due subscriptions, revenue, Action Packs won and lost, and
cases that need an answer, above the usual list of models. Staff without it see the list alone.
The figures come from selectors (``billing.selectors.overview``, ``support.selectors``) in a
constant number of queries; this module only labels them, draws the charts
(``core.charts``) and links each figure to the admin list it summarises, filtered to match —
when the person may see that list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billing.models import LIVE_STATUSES, OrderKind, PaymentAttempt
from billing.selectors.overview import (
    ENDED_STATUSES,
    action_packs_by_month,
    billing_cycle_today,
    day_bounds,
    past_due_in_grace,
    renewals_due_by_week,
    revenue_by_month,
)
from core import clock
from core.charts import Series, bar_chart
from core.money import format_money
from support.selectors import cases_overview

OVERVIEW_PERMISSION = "billing.view_overview"


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    url: str | None = None
    warning: bool = False


@dataclass(frozen=True)
class Chart:
    """A chart and its text alternative: a table of the same numbers, each cell a link."""

    title: str
    svg: str
    url: str | None
    category_title: str
    columns: list[str]
    rows: list[tuple[str, list[Figure]]]


def _changelist(request: HttpRequest, model: str, **params: object) -> str | None:
    """The admin list of ``app.model`` filtered by ``params``, if the person may view it."""
    app_label, model_name = model.split(".")
    if not request.user.has_perm(f"{app_label}.view_{model_name}"):
        return None
    url = reverse(f"admin:{app_label}_{model_name}_changelist")
    query = urlencode({key: str(value) for key, value in params.items()})
    return f"{url}?{query}" if query else url


def _between(field: str, start: dt.date | dt.datetime, end: dt.date | dt.datetime) -> dict:
    """The parameters of the admin's date filter (``DateFieldListFilter``): ``[start, end)``."""
    return {f"{field}__gte": start, f"{field}__lt": end}


def _next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _duration(delta: dt.timedelta | None) -> str:
    if delta is None:
        return "—"
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    minutes = seconds // 60
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


def _chart(
    *,
    title: str,
    url: str | None,
    category_title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    links: Callable[[int, int], str | None],
    value_label: Callable[[int], str] = str,
    tick_label: Callable[[int], str] | None = None,
) -> Chart:
    """``links(category_index, series_index)``: the filtered list behind one bar."""
    return Chart(
        title=title,
        svg=bar_chart(
            title=title,
            categories=categories,
            series=series,
            value_label=value_label,
            tick_label=tick_label,
        ),
        url=url,
        category_title=category_title,
        columns=[one.name for one in series],
        rows=[
            (
                category,
                [
                    Figure(one.name, value_label(one.values[index]), links(index, number))
                    for number, one in enumerate(series)
                ],
            )
            for index, category in enumerate(categories)
        ],
    )


def _cycle(request: HttpRequest, today: dt.date) -> dict:
    cycle = billing_cycle_today(today=today)
    start, end = day_bounds(today)
    attempts_today = {"off_session__exact": 1, **_between("created_at", start, end)}
    failed = PaymentAttempt.Status.FAILED
    last = cycle.last_run
    return {
        "figures": [
            Figure(
                _("Renewals charged"),
                str(cycle.renewals_charged),
                _changelist(
                    request,
                    "billing.order",
                    kind__exact=OrderKind.RENEWAL,
                    **_between("paid_at", start, end),
                ),
            ),
            Figure(
                _("Renewal charges failed"),
                str(cycle.renewals_failed),
                _changelist(
                    request, "billing.paymentattempt", status__exact=failed, **attempts_today
                ),
                warning=cycle.renewals_failed > 0,
            ),
            Figure(
                _("Renewal charges retried"),
                str(cycle.renewals_retried),
                _changelist(request, "billing.paymentattempt", retry="yes", **attempts_today),
            ),
            Figure(
                _("Subscriptions expired"),
                str(cycle.subscriptions_expired),
                _changelist(
                    request,
                    "billing.subscriptionevent",
                    kind__exact="expired",
                    **_between("created_at", start, end),
                ),
            ),
            Figure(
                _("Reminders sent"),
                str(cycle.reminders_sent),
                _changelist(request, "billing.remindersent", **_between("sent_at", start, end)),
            ),
        ],
        "last_run_figures": [
            Figure(
                _("Last run"),
                date_format(last.started_at, "DATETIME_FORMAT") if last else _("never"),
                _changelist(request, "billing.billingcyclerun"),
            ),
            Figure(_("Duration"), _duration(last.duration) if last else "—"),
        ],
    }


def _renewals_chart(request: HttpRequest, today: dt.date) -> Chart:
    due = renewals_due_by_week(today=today)
    series = [Series(currency, due.counts[currency]) for currency in due.currencies]

    def week_list(index: int, number: int) -> str | None:
        week = due.weeks[index]
        start = max(week, due.first_day)
        end = min(week + dt.timedelta(days=7), due.last_day + dt.timedelta(days=1))
        return _changelist(
            request,
            "billing.subscription",
            status__in=",".join(LIVE_STATUSES),
            cancel_at_term_end__exact=0,
            organization__currency=series[number].name,
            **_between("current_term_end", start, end),
        )

    return _chart(
        title=_("Renewals due in the next %(days)d days, by week")
        % {"days": (due.last_day - today).days},
        url=_changelist(request, "billing.subscription", anniversary="next_90"),
        category_title=_("Week of"),
        categories=[date_format(week, "j M") for week in due.weeks],
        series=series or [Series(_("Renewals"), [0] * len(due.weeks))],
        links=week_list if series else (lambda index, number: None),
    )


def _revenue_charts(request: HttpRequest, today: dt.date) -> list[Chart]:
    revenue = revenue_by_month(today=today)
    charts = []
    for currency in revenue.currencies:

        def month_list(index: int, number: int, currency: str = currency) -> str | None:
            month = revenue.months[index]
            return _changelist(
                request,
                "billing.invoice",
                currency__exact=currency,
                issued_at__year=month.year,
                issued_at__month=month.month,
            )

        charts.append(
            _chart(
                title=_("Revenue in %(currency)s, net of tax and refunds, by month")
                % {"currency": currency},
                url=_changelist(request, "billing.invoice", currency__exact=currency),
                category_title=_("Month"),
                categories=[date_format(month, "M y") for month in revenue.months],
                series=[Series(currency, revenue.amounts[currency])],
                links=month_list,
                value_label=lambda amount, currency=currency: format_money(amount, currency),
                tick_label=lambda amount, currency=currency: format_money(
                    amount, currency, whole=True
                ),
            )
        )
    return charts


def _action_packs_chart(request: HttpRequest, today: dt.date) -> Chart:
    packs = action_packs_by_month(today=today)
    offer = {"offer__id__exact": packs.offer_id} if packs.offer_id else {}

    def month_list(index: int, number: int) -> str | None:
        month = packs.months[index]
        field = "started_on" if number == 0 else "ended_on"
        ended = {} if number == 0 else {"status__in": ",".join(ENDED_STATUSES)}
        return _changelist(
            request,
            "billing.subscription",
            **offer,
            **ended,
            **_between(field, month, _next_month(month)),
        )

    return _chart(
        title=_("Action Packs won and lost, by month"),
        url=_changelist(request, "billing.subscription", **offer),
        category_title=_("Month"),
        categories=[date_format(month, "M y") for month in packs.months],
        series=[Series(_("Won"), packs.new), Series(_("Lost"), packs.lost)],
        links=month_list,
    )


def _cases(request: HttpRequest) -> dict:
    cases = cases_overview()
    return {
        "by_status": [
            Figure(label, str(count), _changelist(request, "support.servicerequest", status=value))
            for value, label, count in cases.by_status
        ],
        "response": [
            Figure(
                _("First response due within 1 hour"),
                str(cases.response_due_soon),
                _changelist(request, "support.servicerequest", response="soon"),
                warning=cases.response_due_soon > 0,
            ),
            Figure(
                _("First response overdue"),
                str(cases.response_overdue),
                _changelist(request, "support.servicerequest", response="overdue"),
                warning=cases.response_overdue > 0,
            ),
        ],
    }


def staff_overview(request: HttpRequest) -> dict:
    """The overview's template context."""
    today = clock.today()
    past_due = past_due_in_grace(today=today)
    return {
        "today": today,
        "cycle": _cycle(request, today),
        "renewals_chart": _renewals_chart(request, today),
        "past_due": past_due,
        "past_due_figures": [
            Figure(
                _("Past due, in the grace window"),
                str(past_due.count),
                _changelist(
                    request, "billing.subscription", status__exact="past_due", anniversary="grace"
                ),
                warning=past_due.count > 0,
            )
        ],
        "revenue_charts": _revenue_charts(request, today),
        "action_packs_chart": _action_packs_chart(request, today),
        "cases": _cases(request),
    }


def admin_index(index: Callable) -> Callable:
    """``AdminSite.index`` with the overview above the list of models, for those allowed."""

    def index_with_overview(request: HttpRequest, extra_context: dict | None = None):
        context = dict(extra_context or {})
        if request.user.has_perm(OVERVIEW_PERMISSION):
            context["overview"] = staff_overview(request)
        return index(request, extra_context=context)

    return index_with_overview
