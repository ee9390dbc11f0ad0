"""The case page in the admin: read-only submission, the conversation, replies and notes,
Assign to me / Waiting on partner / Resolve / Close, canned replies, history."""

from __future__ import annotations

import pytest
from django.core import mail

from support.models import CannedReply, Message, RequestChange
from support.services import service_request_set_status, service_request_staff_message
from tests.support.admin_forms import form_data
from tests.support.files import PDF, PNG, upload


def case_url(case) -> str:
    return f"/admin/support/servicerequest/{case.pk}/change/"


def button_url(case, button: str) -> str:
    return f"/admin/support/servicerequest/{case.pk}/do/{button}/"


@pytest.fixture
def case(bob, contoso, file_request):
    return file_request(
        bob,
        contoso,
        title="Invoice shows the wrong address",
        description="Our VAT ID is missing.",
        uploads=[upload("invoice.png", PNG)],
    )


def submit_message(client, case, *, body: str, kind: str = "public", canned: str = ""):
    """Fill the case page's "Reply or add an internal note" form and save, as staff do."""
    page = client.get(case_url(case)).content.decode()
    data = form_data(page, "servicerequest_form")
    prefix = next(k for k in data if k.endswith("-body")).rsplit("-", 1)[0]
    data.update({f"{prefix}-body": body, f"{prefix}-kind": kind, f"{prefix}-canned_reply": canned})
    data["_continue"] = "Save and continue editing"
    return client.post(case_url(case), data)


def test_it_shows_the_submission_read_only(login, support_agent, case):
    response = login(support_agent).get(case_url(case))

    page = response.content.decode()
    assert response.status_code == 200
    assert case.number in page
    assert "Our VAT ID is missing." in page
    assert "Contoso Ltd · Partner ID 1000001" in page
    assert 'name="title"' not in page  # the partner's words are not editable
    assert 'name="description"' not in page
    assert f"/admin/support/servicerequest/{case.pk}/files/" in page
    for label in ("Assign to me", "Waiting on partner", "Resolve", "Close"):
        assert label in page


def test_a_public_reply_is_sent_to_the_partner(
    login, support_agent, case, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = submit_message(login(support_agent), case, body="We are on it.")

    assert response.status_code == 302
    message = Message.objects.get()
    assert (message.author, message.is_internal, message.is_from_staff) == (
        support_agent,
        False,
        True,
    )
    assert [m.to for m in mail.outbox if "We are on it." in m.body] == [["bob@contoso.example"]]
    case.refresh_from_db()
    assert case.first_responded_at is not None


def test_an_internal_note_is_not_sent(
    login, support_agent, case, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submit_message(login(support_agent), case, body="Check Stripe first.", kind="internal")

    message = Message.objects.get()
    assert (message.is_internal, message.author) == (True, support_agent)
    assert not [m for m in mail.outbox if "Check Stripe first." in m.body]


def test_a_canned_reply_is_used_when_the_text_is_empty(login, support_agent, case):
    canned = CannedReply.objects.create(title="Need info", body="Could you attach a screenshot?")

    submit_message(login(support_agent), case, body="", canned=str(canned.pk))

    assert Message.objects.get().body == "Could you attach a screenshot?"


def test_saving_without_a_message_adds_none(login, support_agent, case):
    client = login(support_agent)
    data = form_data(client.get(case_url(case)).content.decode(), "servicerequest_form")
    data["_continue"] = "Save"

    response = client.post(case_url(case), data)

    assert response.status_code == 302
    assert not Message.objects.exists()


def test_the_conversation_marks_internal_notes(login, support_agent, case):
    service_request_staff_message(
        service_request=case, author=support_agent, body="Secret note", is_internal=True
    )

    page = login(support_agent).get(case_url(case)).content.decode()

    assert "Secret note" in page
    assert "Internal note" in page


def test_assigning_on_the_page_is_kept_in_the_history(login, support_agent, root, case):
    client = login(support_agent)
    data = form_data(client.get(case_url(case)).content.decode(), "servicerequest_form")
    data["assignee"] = str(root.pk)

    client.post(case_url(case), data)

    case.refresh_from_db()
    assert case.assignee == root
    change = RequestChange.objects.get(field="assignee")
    assert (change.actor, change.new_value) == (support_agent, "root@partnerportal.example")
    assert "Assigned to root@partnerportal.example" in client.get(case_url(case)).content.decode()


def test_assign_to_me(login, support_agent, case):
    response = login(support_agent).post(button_url(case, "assign_to_me"))

    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.assignee, case.status) == (support_agent, "in_progress")


@pytest.mark.parametrize(
    ("button", "status"),
    [("waiting", "waiting_on_partner"), ("resolve", "resolved"), ("close", "closed")],
)
def test_status_buttons(login, support_agent, case, button, status):
    login(support_agent).post(button_url(case, button))

    case.refresh_from_db()
    assert case.status == status
    change = RequestChange.objects.filter(field="status").last()
    assert (change.actor, change.new_value) == (support_agent, status)


def test_a_button_that_does_not_apply_says_why(login, support_agent, case):
    service_request_set_status(service_request=case, status="closed", actor=support_agent)
    client = login(support_agent)

    response = client.post(button_url(case, "resolve"), follow=True)

    assert "cannot be set to Resolved" in response.content.decode()
    case.refresh_from_db()
    assert case.status == "closed"


def test_an_unknown_button_is_404(login, support_agent, case):
    assert login(support_agent).post(button_url(case, "explode")).status_code == 404


def test_buttons_need_post(login, support_agent, case):
    assert login(support_agent).get(button_url(case, "resolve")).status_code == 405


def test_staff_without_case_permissions_are_refused(login, agent, case):
    assert login(agent).get(case_url(case)).status_code == 403
    assert login(agent).post(button_url(case, "resolve")).status_code == 403
    case.refresh_from_db()
    assert case.status == "new"


def test_partners_never_reach_the_admin(login, alice, case):
    response = login(alice).get(case_url(case))

    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


def test_cases_cannot_be_added_or_deleted_in_the_admin(login, root, case):
    client = login(root)

    assert client.get("/admin/support/servicerequest/add/").status_code == 403
    assert client.get(f"/admin/support/servicerequest/{case.pk}/delete/").status_code == 403


def test_agents_cannot_cancel_subscriptions(login, support_agent, case):
    page = login(support_agent).get(case_url(case)).content.decode()

    assert "Cancel subscription" not in page
    response = login(support_agent).get(
        f"/admin/support/servicerequest/{case.pk}/cancel-subscription/"
    )
    assert response.status_code == 403


def test_a_reply_may_carry_files_the_partner_can_download(login, support_agent, bob, case):
    client = login(support_agent)
    data = form_data(client.get(case_url(case)).content.decode(), "servicerequest_form")
    prefix = next(k for k in data if k.endswith("-body")).rsplit("-", 1)[0]
    data.update(
        {
            f"{prefix}-body": "Here is the corrected invoice.",
            f"{prefix}-kind": "public",
            f"{prefix}-attachments": upload("corrected.pdf", PDF),
        }
    )

    client.post(case_url(case), data)

    attachment = case.attachments.get(message__isnull=False)
    assert (attachment.original_name, attachment.content_type) == (
        "corrected.pdf",
        "application/pdf",
    )
    download = login(bob).get(f"/support/requests/{case.pk}/files/{attachment.pk}/")
    assert download.status_code == 200
