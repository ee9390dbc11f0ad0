"""VAT ids: their format and check digits per country (python-stdnum), and optionally VIES.

An organization's VAT id decides the tax on its invoices (``billing.tax``): a buyer in
another EU country with a valid one is charged no VAT (reverse charge). So a VAT id is checked
when it is saved, and saved in its compact form with its country prefix (``ESA12345674``).

- EU member states: ``stdnum.eu.vat``, and the prefix must be the organization's own country
  (``EL`` for Greece). People may leave the prefix out; it is added.
- Other countries stdnum knows a VAT number of (the United Kingdom, Mexico…): that module.
- Countries without VAT (the United States): any tax id, letters and digits, printed as given.

The online check against the EU's VIES service is off by default (``VAT_ID_VIES_CHECK``): when
on, a number VIES says is not registered is refused; VIES being unreachable (it often is) is
logged and the offline check decides. It needs a SOAP client stdnum can use (``zeep``).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError

from membership.models import Country

logger = logging.getLogger(__name__)

# Greece's VAT ids start with EL, not with its ISO code.
_EU_PREFIX_EXCEPTIONS = {"GR": "EL"}
EU_VAT_PREFIXES = {
    code.upper(): _EU_PREFIX_EXCEPTIONS.get(code.upper(), code.upper())
    for code in eu_vat.MEMBER_STATES
    if code != "xi"  # Northern Ireland's XI numbers are the United Kingdom's
}


def vat_id_compact(vat_id: str) -> str:
    """Letters and digits only, upper case: what people paste in has spaces, dots and dashes."""
    return "".join(ch for ch in vat_id if ch.isalnum()).upper()


def vat_id_clean(*, country: str, vat_id: str) -> str:
    """``vat_id`` in its compact form for an organization in ``country``, or a ValidationError
    saying what is wrong with it. Offline: format and check digits only."""
    number = vat_id_compact(vat_id)
    if not number:
        return ""
    country = country.upper()
    prefix = EU_VAT_PREFIXES.get(country)
    if prefix is not None:
        if not number.startswith(prefix):
            if number[:2].isalpha() and number[:2].upper() in EU_VAT_PREFIXES.values():
                raise ValidationError(
                    _(
                        "This is a VAT ID of another EU country (%(prefix)s). Enter the VAT ID of %(country)s (%(own)s…)."
                    )
                    % {"prefix": number[:2], "country": _country_name(country), "own": prefix}
                )
            number = prefix + number
        if not eu_vat.is_valid(number):
            raise _invalid(vat_id, country)
        return number
    module = get_cc_module(country.lower(), "vat")
    if module is None:
        return number[:32]
    try:
        return module.compact(module.validate(number))[:32]
    except StdnumError:
        raise _invalid(vat_id, country) from None


def vat_id_is_valid_eu(*, country: str, vat_id: str) -> bool:
    """Is ``vat_id`` a well-formed VAT id of EU member state ``country``? (The tax rule's
    question; offline, like the check when it was saved.)"""
    if country.upper() not in EU_VAT_PREFIXES or not vat_id:
        return False
    try:
        return vat_id_clean(country=country, vat_id=vat_id) == vat_id_compact(vat_id)
    except ValidationError:
        return False


def vat_id_check_online(*, country: str, vat_id: str) -> None:
    """With ``VAT_ID_VIES_CHECK`` on, refuse an EU VAT id VIES says is not registered."""
    if not settings.VAT_ID_VIES_CHECK or country.upper() not in EU_VAT_PREFIXES or not vat_id:
        return
    try:
        answer = eu_vat.check_vies(vat_id, timeout=settings.VAT_ID_VIES_TIMEOUT_SECONDS)
    except Exception:
        # VIES is down more often than any VAT id is wrong: the offline check decides then.
        logger.warning("VIES could not check a VAT id; the offline check decides", exc_info=True)
        return
    if not answer["valid"]:
        raise ValidationError(
            _("The EU's VIES service says %(vat_id)s is not a registered VAT ID.")
            % {"vat_id": vat_id}
        )


def _invalid(vat_id: str, country: str) -> ValidationError:
    return ValidationError(
        _("%(vat_id)s is not a valid VAT ID for %(country)s: check its letters and digits.")
        % {"vat_id": vat_id.strip(), "country": _country_name(country)}
    )


def _country_name(country: str) -> str:
    try:
        return str(Country(country).label)
    except ValueError:
        return country
