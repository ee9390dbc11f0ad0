"""Long staff work in the admin: the jobs a person started, their progress, their result.

"Load keys" (``billing.admin.product_keys``) and "Export CSV" (``billing.admin.invoices``) queue
a ``BackgroundJob`` and send staff here: a page with a ``<progress>`` bar that
``static/js/job-progress.js`` keeps up to date from the small JSON status endpoint (and
that refreshes itself without JavaScript), then the result — keys added, or the CSV to download.

Who may look: a job is its creator's (a superuser sees all). Another person's job is 404; a job
needs the permission of its kind — to add product keys to load them, to view invoices to export
them — else 403, as the page that starts it.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from billing.admin.read_only import ReadOnlyAdminMixin
from billing.models import BackgroundJob, BackgroundJobKind

# The permission each kind of job needs, the same as the page that starts it.
JOB_PERMISSIONS = {
    BackgroundJobKind.PRODUCT_KEYS_LOAD: "billing.add_productkey",
    BackgroundJobKind.INVOICES_EXPORT: "billing.view_invoice",
}


def jobs_visible_to(request: HttpRequest):
    jobs = BackgroundJob.objects.select_related("created_by")
    if request.user.is_superuser:
        return jobs
    return jobs.filter(created_by=request.user)


def _job_or_404(request: HttpRequest, job_id: int) -> BackgroundJob:
    """The job, if it is this person's (404 otherwise) and they hold its permission (403)."""
    job = get_object_or_404(jobs_visible_to(request), pk=job_id)
    if not request.user.has_perm(JOB_PERMISSIONS[job.kind]):
        raise PermissionDenied
    return job


def job_status(job: BackgroundJob) -> dict:
    """What the progress page's script reads."""
    return {
        "id": job.pk,
        "status": job.status,
        "status_label": str(job.get_status_display()),
        "progress": job.progress,
        "total": job.total,
        "percent": job.percent,
        "finished": job.is_finished,
        "text": progress_text(job),
    }


def progress_text(job: BackgroundJob) -> str:
    """The bar's numbers in words, for people who do not read bars."""
    if job.kind == BackgroundJobKind.PRODUCT_KEYS_LOAD:
        text = _("%(done)s of %(total)s keys loaded")
    else:
        text = _("%(done)s of %(total)s documents written")
    return (text + " (%(percent)s %%)") % {
        "done": job.progress,
        "total": job.total,
        "percent": job.percent,
    }


@require_safe
def job_progress_view(request: HttpRequest, model_admin: admin.ModelAdmin, job_id: int):
    job = _job_or_404(request, job_id)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": _("%(job)s: progress") % {"job": job.get_kind_display()},
        "job": job,
        "progress_text": progress_text(job),
        "status_url": reverse("admin:billing_backgroundjob_status", args=[job.pk]),
        "download_url": (
            reverse("admin:billing_backgroundjob_download", args=[job.pk])
            if job.result_file
            else ""
        ),
        "files_kept_days": settings.BACKGROUND_JOB_FILES_KEEP_DAYS,
    }
    return TemplateResponse(request, "admin/billing/backgroundjob/progress.html", context)


@require_safe
def job_status_view(request: HttpRequest, job_id: int) -> JsonResponse:
    # Never cached: ``admin_view`` marks every admin response so.
    return JsonResponse(job_status(_job_or_404(request, job_id)))


@require_safe
def job_download_view(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job_or_404(request, job_id)
    if not job.result_file:
        raise Http404
    name = job.result_file.name.rsplit("/", 1)[-1].split("-", 1)[-1]
    try:
        handle = job.result_file.open("rb")
    except FileNotFoundError:  # removed from storage by hand: as if deleted by the sweep
        raise Http404 from None
    return FileResponse(handle, as_attachment=True, filename=name, content_type="text/csv")


@admin.register(BackgroundJob)
class BackgroundJobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "status", "progress_display", "created_by", "created_at")
    list_filter = ("kind", "status")
    list_select_related = ("created_by",)
    exclude = ("input_file", "result_file")

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        # Whoever may start one kind of job sees their jobs (the queryset keeps them to theirs).
        return request.user.is_active and any(
            request.user.has_perm(permission) for permission in JOB_PERMISSIONS.values()
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def get_queryset(self, request: HttpRequest):
        return jobs_visible_to(request)

    @admin.display(description=gettext_lazy("progress"))
    def progress_display(self, obj: BackgroundJob) -> str:
        return progress_text(obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not str(object_id).isdigit():
            raise Http404
        return redirect("admin:billing_backgroundjob_progress", int(object_id))

    def get_urls(self) -> list[URLPattern]:
        site = self.admin_site
        return [
            path(
                "<int:job_id>/progress/",
                site.admin_view(lambda request, job_id: job_progress_view(request, self, job_id)),
                name="billing_backgroundjob_progress",
            ),
            path(
                "<int:job_id>/status/",
                site.admin_view(job_status_view),
                name="billing_backgroundjob_status",
            ),
            path(
                "<int:job_id>/download/",
                site.admin_view(job_download_view),
                name="billing_backgroundjob_download",
            ),
            *super().get_urls(),
        ]
