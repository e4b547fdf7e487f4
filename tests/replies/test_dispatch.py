"""The replies' registry: handlers by keyword, STOP hooks, one answer per SID, nothing kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from callcenter.notify import optout
from callcenter.replies.dispatch import SmsReplies
from callcenter.replies.models import SmsReply
from callcenter.services import sms_replies
from tests.conftest import CALLER, OPEN_HOURS, services, set_clock
from tests.ivr.test_identify import seed
from tests.replies.test_cancel import THURSDAY, receive, reminded, status_of


@pytest.fixture
def registry(app) -> SmsReplies:
    return services(app).replies


def replies(app) -> list[SmsReply]:
    with services(app).db.session() as session:
        return list(session.scalars(select(SmsReply)))


def test_a_registered_handler_answers_its_keyword_with_its_prompt(app, registry) -> None:
    """How the waiting list plugs OUI in: a callable of the practice and the sender."""
    seen = []

    def accept(session, cipher, practice, sender, now):
        seen.append((practice.id, sender, now))
        return "sms_reply_cancelled", {"when": "mardi 1er décembre à 9 h"}

    registry.handlers["OUI"] = accept
    answer = receive(app, "Oui merci", sender="06 12 34 56 78")
    assert seen == [("demo", CALLER, OPEN_HOURS)]  # the sender normalised to E.164
    assert answer.text == (
        "cabinet médical des Tilleuls : votre rendez-vous du mardi 1er décembre à 9 h est annulé."
    )
    registry.handlers["OUI"] = lambda *args: "sms_reply_start"  # a key alone will do
    assert "réactivés" in (receive(app, "oui").text or "")
    registry.handlers["OUI"] = lambda *args: None  # nothing open for this sender
    assert "01 84 88 00 00" in (receive(app, "oui").text or "")


def test_oui_with_no_handler_gets_the_generic_answer(app) -> None:
    answer = receive(app, "OUI")
    assert (answer.keyword, answer.outcome) == ("OUI", "none")
    assert "01 84 88 00 00" in (answer.text or "")


def test_stop_records_the_opt_out_runs_the_hooks_and_confirms_once(app, registry) -> None:
    ended = []
    registry.stop_hooks.append(lambda session, cipher, practice_id, number, now:
                               ended.append((practice_id, number)))  # fmt: skip
    first = receive(app, "STOP")
    assert first.text == (
        "Vous ne recevrez plus de SMS du cabinet médical des Tilleuls. Pour les réactiver, "
        "répondez START ; pour nous joindre, appelez le 01 84 88 00 00."
    )
    assert receive(app, "arrêt").text is None  # opted out already: no second SMS
    assert ended == [("demo", CALLER), ("demo", CALLER)]
    svc = services(app)
    with svc.db.session() as session:
        assert optout.is_opted_out(session, svc.cipher, "demo", CALLER, 12)
    assert receive(app, "Bonjour ?").text is None  # nothing more goes to the number
    start = receive(app, "START")
    assert start.text == (
        "cabinet médical des Tilleuls : les SMS du cabinet sont réactivés. "
        "Pour les arrêter, répondez STOP."
    )
    assert "01 84 88 00 00" in (receive(app, "Bonjour ?").text or "")


def test_annuler_after_stop_cancels_without_an_answer(app) -> None:
    appointment = reminded(app, seed(app, "1980-03-15"), THURSDAY, OPEN_HOURS - timedelta(hours=1))
    receive(app, "STOP")
    answer = receive(app, "annuler")
    assert (answer.text, answer.outcome) == (None, "done")
    assert status_of(app, appointment)[0] == "cancelled"


def test_the_same_sid_twice_acts_and_answers_once(app) -> None:
    appointment = reminded(app, seed(app, "1980-03-15"), THURSDAY, OPEN_HOURS - timedelta(hours=1))
    first = receive(app, "annuler", sid="SM" + "1" * 32)
    again = receive(app, "annuler", sid="SM" + "1" * 32)
    assert first.outcome == "done" and (again.text, again.outcome) == (None, "duplicate")
    assert status_of(app, appointment)[0] == "cancelled"
    [kept] = replies(app)
    assert (kept.message_sid, kept.practice_id, kept.keyword, kept.outcome) == (
        "SM" + "1" * 32, "demo", "ANNULER", "done")  # fmt: skip


def test_an_unknown_practice_number_or_sender_gets_no_answer(app) -> None:
    assert receive(app, "STOP", to="+33100000000").outcome == "unknown-practice"
    assert replies(app) == []  # no practice to keep it under
    for withheld in ("", "anonymous", "+266696687", "not a number", "+3361234567812345"):
        answer = receive(app, "STOP", sender=withheld)
        assert (answer.text, answer.outcome) == (None, "no-sender")
    assert {r.outcome for r in replies(app)} == {"no-sender"}


def test_the_registry_of_the_root_answers_annuler_and_oui_and_lets_the_waiting_list_go(
    app,
) -> None:
    registry = sms_replies(services(app).practices, services(app).replies.catalogues)
    assert set(registry.handlers) == {"ANNULER", "OUI"} and len(registry.stop_hooks) == 1


def test_the_generic_answer_is_rationed_so_an_auto_responder_loop_ends(app, monkeypatch) -> None:
    """Past the cap in the window nothing is answered; the window passing resets it."""
    from callcenter.replies import dispatch

    monkeypatch.setattr(dispatch, "GENERIC_CAP", 3)
    answers = [receive(app, "Message automatique : je suis absent.").text for _ in range(5)]
    assert [a is not None for a in answers] == [True, True, True, False, False]
    assert receive(app, "STOP").text is not None  # a keyword is always answered
    set_clock(app, (OPEN_HOURS + dispatch.GENERIC_WINDOW).isoformat())
    assert receive(app, "Bonjour ?", sender="+33611223344").text is not None
