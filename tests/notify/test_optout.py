"""STOP is honoured at the one place SMS leave: every queue, no REST call, a clear status."""

from __future__ import annotations

from sqlalchemy import select

from callcenter.notify import optout
from callcenter.notify.models import Notice, SmsOptOut
from callcenter.notify.notices import OPTED_OUT
from tests.conftest import CALLER, services, set_clock
from tests.web.twilio.test_barge_in import home as home  # the practice publishes its notice
from tests.web.twilio.test_urgent import SUNDAY_NIGHT

ON_CALL = "+33612000012"  # the demo's doctor on call on Sunday night


def stop(app, number: str, practice: str = "demo") -> bool:
    svc = services(app)
    with svc.db.session() as session:
        return optout.opt_out(session, svc.cipher, practice, number, 12, svc.clock.now())


def opted_out(app, number: str, practice: str = "demo") -> bool:
    svc = services(app)
    with svc.db.session() as session:
        return optout.is_opted_out(session, svc.cipher, practice, number, 12)


def test_an_opt_out_is_per_practice_and_number_and_start_lifts_it(app) -> None:
    assert stop(app, "06 12 34 56 78") and not stop(app, CALLER)  # one number, however written
    assert opted_out(app, CALLER)
    assert not opted_out(app, "+33611223344") and not opted_out(app, CALLER, practice="other")
    assert not stop(app, "anonymous") and not opted_out(app, "")
    svc = services(app)
    with svc.db.session() as session:
        [row] = session.scalars(select(SmsOptOut)).all()
        assert CALLER.encode() not in (row.phone_ct or b"")  # encrypted, with its blind index
        assert row.phone_index == svc.cipher.phone_index(CALLER, practice="demo", bits=12)
        assert optout.opt_in(session, svc.cipher, "demo", CALLER, 12)
        assert not optout.opt_in(session, svc.cipher, "demo", CALLER, 12)
    assert not opted_out(app, CALLER)


def test_a_number_sharing_the_bucket_of_an_opt_out_is_not_silenced(app) -> None:
    stop(app, "+33611223344")
    svc = services(app)
    with svc.db.session() as session:  # the opt-out now sits in CALLER's bucket
        row = session.scalars(select(SmsOptOut)).one()
        row.phone_index = svc.cipher.phone_index(CALLER, practice="demo", bits=12)
    assert not opted_out(app, CALLER)  # the bucket's row decrypts to another number


def test_an_urgent_notice_to_a_number_that_sent_stop_is_not_sent(
    app, twilio, practice_number, fake_twilio
) -> None:
    """The notices' queue honours it like the appointments' one: no REST call, a clear status."""
    stop(app, ON_CALL)
    set_clock(app, SUNDAY_NIGHT)
    twilio.place_call(CALLER, practice_number).say("douleur à la poitrine")
    assert [r for r in fake_twilio.requests if r.path.endswith("/Messages.json")] == []
    with services(app).db.session() as session:
        notice = session.scalars(select(Notice)).one()
        assert (notice.status, notice.last_error, notice.message_sid) == (
            OPTED_OUT, "opted-out", None)  # fmt: skip
    assert services(app).send_notices().opted_out == 0  # settled: never tried again


def test_the_data_notice_link_is_not_offered_to_a_number_that_sent_stop(
    home, app, twilio, practice_number, fake_twilio
) -> None:
    stop(app, CALLER)
    call = twilio.place_call(CALLER, practice_number).press("8")
    assert "responsable de leur traitement" in call.last_heard()
    assert "SMS" not in call.last_heard()
    call.press("1")
    assert [r for r in fake_twilio.requests if r.path.endswith("/Messages.json")] == []
