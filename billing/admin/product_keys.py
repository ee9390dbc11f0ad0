"""Loading product keys in the admin: a "Load keys" page on Billing > Product keys.

Added to ``ProductKeyAdmin`` (``billing.admin.benefits``) by ``product_key_admin_urls``. Staff
paste keys, one a line, for a software benefit; keys already in the pool are skipped, so pasting
the same list twice adds nothing.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.selectors.benefits import product_keys_available
from billing.services.benefits import product_keys_load
from offers.models import Benefit, BenefitKind

MAX_KEYS_PER_LOAD = 5000


class ProductKeysLoadForm(forms.Form):
    benefit = forms.ModelChoiceField(
        label=gettext_lazy("Benefit"),
        queryset=Benefit.objects.filter(kind=BenefitKind.SOFTWARE_LICENSE).select_related("offer"),
    )
    keys = forms.CharField(
        label=gettext_lazy("Product keys"),
        widget=forms.Textarea(attrs={"rows": 14, "cols": 60, "spellcheck": "false"}),
        help_text=gettext_lazy("One key a line. Keys already in the pool are skipped."),
    )

    def clean_keys(self) -> list[str]:
        keys = [line.strip() for line in self.cleaned_data["keys"].splitlines() if line.strip()]
        if len(keys) > MAX_KEYS_PER_LOAD:
            raise forms.ValidationError(
                _("Load at most %(count)s keys at a time.") % {"count": MAX_KEYS_PER_LOAD}
            )
        too_long = [key for key in keys if len(key) > 64]
        if too_long:
            raise forms.ValidationError(
                _("This is not a product key (too long): %(key)s") % {"key": too_long[0][:80]}
            )
        return keys


def product_keys_load_view(request: HttpRequest, model_admin: admin.ModelAdmin) -> HttpResponse:
    if not request.user.has_perm("billing.add_productkey"):
        raise PermissionDenied
    form = ProductKeysLoadForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        benefit = form.cleaned_data["benefit"]
        added, skipped = product_keys_load(benefit=benefit, keys=form.cleaned_data["keys"])
        messages.success(
            request,
            _(
                "%(added)s keys added to %(benefit)s (%(skipped)s already in the pool); %(left)s available."
            )
            % {
                "added": added,
                "benefit": benefit.name,
                "skipped": skipped,
                "left": product_keys_available(benefit=benefit),
            },
        )
        return HttpResponseRedirect(reverse("admin:billing_productkey_changelist"))
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
