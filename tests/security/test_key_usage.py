"""Encryption counters survive restarts and add up across processes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from callcenter.security.crypto import FieldCipher, RotationRequired
from callcenter.security.key_usage import UsageRecorder, stored_counts
from callcenter.security.keyring import KeyRing
from callcenter.security.models import KeyUsage
from tests.conftest import services

PLACE = {"practice": "p", "table": "t", "column": "c", "row": "r"}


def test_two_processes_add_their_counts_to_one_total(db):
    ring = KeyRing.generate()
    for encryptions in (3, 4):  # two processes, each starting from the stored total
        with db.session() as session:
            cipher = FieldCipher(ring, counts=stored_counts(session))
        recorder = UsageRecorder(cipher)
        for _ in range(encryptions):
            cipher.encrypt("x", **PLACE)
        with db.session() as session:
            recorder.flush(session)
            recorder.flush(session)  # nothing new: adds nothing
    with db.session() as session:
        assert stored_counts(session) == {ring.active_id: 7}


def test_a_process_starting_near_the_limit_forces_a_rotation(db):
    ring = KeyRing.generate()
    with db.session() as session:
        session.add(KeyUsage(key_id=ring.active_id, encryptions=9))
    with db.session() as session:
        cipher = FieldCipher(ring, nonce_limit=10, counts=stored_counts(session))
    cipher.encrypt("x", **PLACE)
    with pytest.raises(RotationRequired, match="keys rotate"):
        cipher.encrypt("y", **PLACE)
    ring.rotate()
    cipher.encrypt("z", **PLACE)  # the new key starts from zero


def test_webhooks_record_their_encryptions(app, twilio, practice_number):
    """Counts are written once a hundred encryptions have gathered."""
    for n in range(40):  # forty callers (one number would be throttled: the clock is frozen)
        twilio.place_call(f"+336123456{n:02d}", practice_number).press("3").answer()
    with services(app).db.session() as session:
        total = session.scalars(select(KeyUsage.encryptions)).one()
    assert total >= 100


def test_each_process_counts_on_from_the_grand_total(db):
    """Two servers at once: the limit applies to their sum, not to each."""
    ring = KeyRing.generate()
    first, second = (FieldCipher(ring, nonce_limit=10) for _ in range(2))
    recorders = [UsageRecorder(first), UsageRecorder(second)]
    for cipher, recorder in zip((first, second), recorders, strict=True):
        for _ in range(4):
            cipher.encrypt("x", **PLACE)
        with db.session() as session:
            recorder.flush(session)
    assert second.encryptions(ring.active_id) == 8  # it learnt of the first server's 4
    second.encrypt("x", **PLACE)
    second.encrypt("x", **PLACE)
    with pytest.raises(RotationRequired):
        second.encrypt("x", **PLACE)
