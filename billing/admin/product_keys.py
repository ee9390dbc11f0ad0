"""Loading product keys in the admin: a "Load keys" page on Billing > Product keys.

Added to ``ProductKeyAdmin`` (``billing.admin.benefits``) by ``product_key_admin_urls``. Staff
paste keys or upload a text file, one key a line, for a software benefit; keys already in the
pool are skipped, so loading the same list twice adds nothing. The request only stores the list
(privately) and queues the work: a worker loads it in chunks while the progress page follows it
(``billing.admin.background_jobs``), so a file of tens of thousands of keys never times out.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.selectors.benefits import product_keys_available
from billing.services.background_jobs import product_keys_load_start
from offers.models import Benefit, BenefitKind

MAX_KEYS_PER_LOAD = 100_000
MAX_KEY_FILE_BYTES = 5 * 1024 * 1024


class ProductKeysLoadForm(forms.Form):
    benefit = forms.ModelChoiceField(
        label=gettext_lazy("Benefit"),
        queryset=Benefit.objects.filter(kind=BenefitKind.SOFTWARE_LICENSE).select_related("offer"),
    )
    keys = forms.CharField(
        label=gettext_lazy("Product keys"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 14, "cols": 60, "spellcheck": "false"}),
        help_text=gettext_lazy("One key a line. Keys already in the pool are skipped."),
    )
    keys_file = forms.FileField(
        label=gettext_lazy("Or a text file of keys"),
        required=False,
        help_text=gettext_lazy("Plain text, one key a line, at most 5 MB."),
    )

    def clean(self):
        cleaned = super().clean()
        lines = (cleaned.get("keys") or "").splitlines()
        upload = cleaned.get("keys_file")
        if upload is not None:
            if upload.size > MAX_KEY_FILE_BYTES:
                raise forms.ValidationError(_("The file is larger than 5 MB."))
            try:
                lines += upload.read().decode("utf-8-sig").splitlines()
            except UnicodeDecodeError:
                raise forms.ValidationError(_("The file is not plain text.")) from None
        keys = [line.strip() for line in lines if line.strip()]
        if not keys:
            raise forms.ValidationError(_("Paste keys or choose a file of keys."))
        if len(keys) > MAX_KEYS_PER_LOAD:
            raise forms.ValidationError(
                _("Load at most %(count)s keys at a time.") % {"count": MAX_KEYS_PER_LOAD}
            )
        too_long = [key for key in keys if len(key) > 64]
        if too_long:
            raise forms.ValidationError(
                _("This is not a product key (too long): %(key)s") % {"key": too_long[0][:80]}
            )
        cleaned["key_list"] = keys
        return cleaned


def product_keys_load_view(request: HttpRequest, model_admin: admin.ModelAdmin) -> HttpResponse:
    if not request.user.has_perm("billing.add_productkey"):
        raise PermissionDenied
    form = ProductKeysLoadForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )
    if request.method == "POST" and form.is_valid():
        job = product_keys_load_start(
            benefit=form.cleaned_data["benefit"],
            keys=form.cleaned_data["key_list"],
            created_by=request.user,
        )
        return HttpResponseRedirect(reverse("admin:billing_backgroundjob_progress", args=[job.pk]))
    pools = [
        (benefit, product_keys_available(benefit=benefit))
        for benefit in form.fields["benefit"].queryset
    ]
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": _("Load product keys"),
        "form": form,
        "pools": pools,
    }
    return TemplateResponse(request, "admin/billing/productkey/load.html", context)


def product_key_admin_urls(model_admin: admin.ModelAdmin) -> list[URLPattern]:
    def view(request: HttpRequest) -> HttpResponse:
        return product_keys_load_view(request, model_admin)

    return [
        path(
            "load/",
            model_admin.admin_site.admin_view(view),
            name="billing_productkey_load",
        )
    ]
