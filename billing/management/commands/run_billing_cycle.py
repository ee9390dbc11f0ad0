"""Run the billing cycle once, here and now: the same steps beat runs hourly through Celery.

    python manage.py run_billing_cycle

Safe while workers run the cycle too (every step claims its work): nothing is charged, expired or
emailed twice. Prints what it did.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from billing import stripe_gateway
from billing.services.renewals import CycleReport, billing_cycle_run_now


def report_lines(report: CycleReport) -> list[str]:
    reminders = ", ".join(f"{kind} {count}" for kind, count in sorted(report.reminders.items()))
    lines = [
        f"Billing cycle for {report.today:%Y-%m-%d}",
        f"  payments reconciled:         {report.reconciled}",
        f"  outcomes followed up late:   {report.followed_up}",
        f"  scheduled cancellations:     {report.cancellations_ended}",
        f"  renewals charged:            {len(report.renewed)}",
        f"  renewals failed:             {len(report.failed)}",
        f"  renewals retried:            {report.retried}",
        f"  renewals still processing:   {len(report.pending)}",
        f"  subscriptions expired:       {len(report.expired)}",
        f"  reminders sent:              {sum(report.reminders.values())}"
        + (f" ({reminders})" if reminders else ""),
    ]
    if report.errors:
        ids = ", ".join(str(pk) for pk in report.errors)
        lines.append(f"  renewals interrupted:        {len(report.errors)} (subscriptions {ids})")
    return lines


class Command(BaseCommand):
    help = "Run every due step of the billing cycle once (renewals, retries, expiry, reminders)."

    def handle(self, *args, **options) -> None:
        # Paced to the jobs' share of Stripe's rate limit, like the workers' batches.
        with stripe_gateway.paced():
            report = billing_cycle_run_now()
        self.stdout.write("\n".join(report_lines(report)))
        if report.errors:
            self.stderr.write(
                "Some renewals were interrupted; the next run reconciles them (see the log)."
            )
