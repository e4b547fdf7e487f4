"""The Twilio REST client against the local fake: deletions and SMS (docs/operations/twilio.md)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from twilio.rest import Client

from callcenter.core.twilio_rest import (
    RemoteDeletionFailed,
    close_client,
    delete_remote,
    make_client,
)
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio


def sid(prefix: str, n: int) -> str:
    return f"{prefix}{n:032x}"


def path(one: str) -> str:
    collection = {"RE": "Recordings", "TR": "Transcriptions", "CA": "Calls"}[one[:2]]
    return f"/2010-04-01/Accounts/{ACCOUNT_SID}/{collection}/{one}.json"


@pytest.fixture
def client(fake_twilio: FakeTwilio) -> Iterator[Client]:
    twilio = make_client(ACCOUNT_SID, AUTH_TOKEN, api_base=fake_twilio.base_url)
    yield twilio
    close_client(twilio)


def test_delete_remote_reports_each_twilio_answer(client: Client, fake_twilio: FakeTwilio) -> None:
    assert delete_remote(client, "call", sid("CA", 1)) == "deleted"
    assert delete_remote(client, "call", sid("CA", 1)) == "gone"  # deleted before
    fake_twilio.fail_next("Recordings", status=503)
    with pytest.raises(RemoteDeletionFailed, match=r"^http-503$"):
        delete_remote(client, "recording", sid("RE", 1))
    wrong = make_client(ACCOUNT_SID, "wrong-token", api_base=fake_twilio.base_url)
    try:
        with pytest.raises(RemoteDeletionFailed, match=r"^http-401-20003$"):
            delete_remote(wrong, "recording", sid("RE", 1))
    finally:
        close_client(wrong)
    with pytest.raises(RemoteDeletionFailed, match=r"^bad-sid$"):
        delete_remote(client, "recording", sid("CA", 1))


def test_the_client_sends_deletes_and_sms_to_the_api_base(
    client: Client, fake_twilio: FakeTwilio
) -> None:
    assert client.recordings(sid("RE", 1)).delete()
    assert client.transcriptions(sid("TR", 1)).delete()
    assert client.calls(sid("CA", 1)).delete()
    sms = client.messages.create(to="+33612345678", from_="+33102030405", body="RDV confirmé")
    assert sms.sid.startswith("SM") and sms.status == "queued" and sms.body == "RDV confirmé"
    assert [(r.method, r.path) for r in fake_twilio.requests] == [
        *(("DELETE", path(sid(kind, 1))) for kind in ("RE", "TR", "CA")),
        ("POST", f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"),
    ]
    sent = {"To": "+33612345678", "From": "+33102030405", "Body": "RDV confirmé"}
    assert fake_twilio.requests[-1].form == sent
    assert all(r.user == ACCOUNT_SID and r.authenticated for r in fake_twilio.requests)


@pytest.mark.parametrize(
    "base", ["http://twilio.example.com", "ftp://127.0.0.1:1", "http://127.0.0.1:1/?x=1"]
)
def test_plain_http_goes_to_loopback_only(base: str) -> None:
    """The request carries the auth token: never in clear beyond this machine."""
    with pytest.raises(ValueError, match="TWILIO_API_BASE"):
        make_client(ACCOUNT_SID, AUTH_TOKEN, api_base=base)
