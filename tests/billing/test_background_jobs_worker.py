"""A product-key load through the broker and a real Celery worker, followed as the progress
page's script follows it: the request answers at once, the worker loads, the status says done."""

from __future__ import annotations

import pytest

from billing.models import BackgroundJob, ProductKey
from tests.plugins.services import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_loads_a_large_key_file_while_the_status_follows_it(
    celery_workers, settings, login, root, offer
):
    settings.EMAIL_TASKS_EAGER = False
    celery_workers()
    windows = offer.benefits.get(code="windows-enterprise")
    keys = "\n".join(f"WORKER{number:06d}-AAAAA-BBBBB" for number in range(20_000))
    client = login(root)

    response = client.post("/admin/billing/productkey/load/", {"benefit": windows.pk, "keys": keys})

    job = BackgroundJob.objects.get()
    assert response.status_code == 302
    status = f"/admin/billing/backgroundjob/{job.pk}/status/"
    wait_until(lambda: client.get(status).json()["finished"], timeout=120, what="the job done")
    assert client.get(status).json()["text"] == "20000 of 20000 keys loaded (100 %)"
    assert ProductKey.objects.filter(benefit=windows).count() == 20_000
