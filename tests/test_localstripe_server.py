"""scripts/localstripe_server.py, in process: localstripe's store indexed by object type.

The launcher as a server (its port, its state file, lists over HTTP) is tested in
tests/test_infrastructure.py. Importing it here patches localstripe in this process only; no
localstripe server runs in the test process.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from localstripe import resources
from localstripe.errors import UserError

from tests.plugins.services import LOCALSTRIPE_LAUNCHER


def _launcher_import() -> ModuleType:
    # scripts/ is not a package; once imported, the module (and its patches) is reused.
    name = "localstripe_launcher"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, LOCALSTRIPE_LAUNCHER)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        with warnings.catch_warnings():
            # localstripe's server module registers plain functions as aiohttp handlers.
            warnings.simplefilter("ignore", DeprecationWarning)
            spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


@pytest.fixture
def launcher() -> Iterator[ModuleType]:
    module = _launcher_import()
    resources.store.clear()
    yield module
    resources.store.clear()


def _coupon(code: str) -> resources.Coupon:
    # Coupons and tax rates send no webhook, so they need no event loop.
    return resources.Coupon(id=code, duration="once", percent_off=10)


def _tax_rate(name: str) -> resources.TaxRate:
    return resources.TaxRate(display_name=name, inclusive=False, percentage=21)


def _coupon_ids() -> list[str]:
    return [coupon.id for coupon in resources.Coupon._api_list_all("/v1/coupons")._list]


def _full_scan_ids(object_type: str) -> list[str]:
    """What localstripe's own list gave: a scan of the whole store, in insertion order."""
    return [obj.id for key, obj in dict.items(resources.store) if key.startswith(object_type + ":")]


def test_a_list_returns_only_its_type_in_creation_order(launcher: ModuleType) -> None:
    _coupon("FIRST")
    tax_rate = _tax_rate("IVA")
    _coupon("SECOND")

    tax_rates = resources.TaxRate._api_list_all("/v1/tax_rates")._list
    assert _coupon_ids() == ["FIRST", "SECOND"] == _full_scan_ids("coupon")
    assert [rate.id for rate in tax_rates] == [tax_rate.id]


def test_a_deleted_object_leaves_its_list(launcher: ModuleType) -> None:
    for code in ("A", "B", "C"):
        _coupon(code)

    resources.Coupon._api_delete("B")
    assert _coupon_ids() == ["A", "C"]

    _coupon("B")  # created again: last, as in the store
    assert _coupon_ids() == ["A", "C", "B"] == _full_scan_ids("coupon")


def test_deleting_a_missing_object_changes_nothing(launcher: ModuleType) -> None:
    _coupon("A")

    with pytest.raises(UserError):
        resources.Coupon._api_delete("MISSING")
    with pytest.raises(KeyError):
        del resources.store["coupon:MISSING"]

    assert _coupon_ids() == ["A"]


def test_a_flush_empties_every_list(launcher: ModuleType) -> None:
    _coupon("A")
    _tax_rate("IVA")

    resources.store.clear()  # what DELETE /_config/data does

    assert _coupon_ids() == []
    assert launcher.store_index(resources.store) == {}
    _coupon("B")
    assert _coupon_ids() == ["B"]


def test_lists_after_a_state_load(launcher: ModuleType, tmp_path: Path) -> None:
    state = tmp_path / "localstripe.pickle"
    _coupon("A")
    tax_rate = _tax_rate("IVA")
    _coupon("B")
    launcher.state_dump(state)
    resources.store.clear()
    _coupon("BEFORE-LOAD")

    loaded = launcher.state_load(state)
    _coupon("AFTER-LOAD")

    tax_rates = resources.TaxRate._api_list_all("/v1/tax_rates")._list
    assert loaded == 3
    assert _coupon_ids() == ["A", "B", "AFTER-LOAD"] == _full_scan_ids("coupon")
    assert [rate.id for rate in tax_rates] == [tax_rate.id]


def test_a_list_reads_only_its_own_type(
    launcher: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(50):
        _tax_rate(f"Rate {number}")
    _coupon("A")
    _coupon("B")
    resources.store["balance"] = object()  # localstripe's one key without a type

    index = launcher.store_index(resources.store)
    assert set(index) == {"coupon", "tax_rate"}
    assert list(index["coupon"]) == ["coupon:A", "coupon:B"]

    def scanned(self: resources.Store) -> None:
        raise AssertionError("a list scanned the whole store")

    # localstripe's own list went through store.items(); the index never touches the store.
    monkeypatch.setattr(resources.Store, "items", scanned)
    monkeypatch.setattr(resources.Store, "keys", scanned)
    assert _coupon_ids() == ["A", "B"]


def test_pages_and_unknown_arguments_behave_as_before(launcher: ModuleType) -> None:
    for code in ("A", "B", "C"):
        _coupon(code)

    page = resources.Coupon._api_list_all("/v1/coupons", limit=1, starting_after="A")
    assert [coupon["id"] for coupon in page.data] == ["B"]
    assert page.has_more is True
    assert page.url == "/v1/coupons"

    with pytest.raises(UserError) as error:
        resources.Coupon._api_list_all("/v1/coupons", colour="red")
    assert error.value.code == 400
    assert error.value.body["error"]["message"] == "Unexpected colour"
