"""Encrypted ORM attributes: plain text for domain code, ciphertext in the database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import LargeBinary, String, create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from callcenter.security.crypto import DecryptionError, FieldCipher, key_id_of
from callcenter.security.encrypted import (
    EncryptedField,
    EncryptedFieldError,
    current_cipher,
    encrypted_fields,
    reencrypt_row,
    using_cipher,
)
from callcenter.security.keyring import KeyRing
from callcenter.storage.db import new_id

CANARY = "Zébulon-Canari"


class Base(DeclarativeBase):
    pass


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(64))
    name_ct: Mapped[bytes | None] = mapped_column("name", LargeBinary, nullable=True)
    phone_ct: Mapped[bytes | None] = mapped_column("phone", LargeBinary, nullable=True)
    name = EncryptedField("name_ct")
    phone = EncryptedField("phone_ct")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(id=kwargs.pop("id", None) or new_id(), **kwargs)


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def _save(engine: Engine, *rows: Patient) -> None:
    with Session(engine, expire_on_commit=False) as session:
        session.add_all(rows)
        session.commit()


def _load(engine: Engine, row_id: str) -> Patient:
    with Session(engine, expire_on_commit=False) as session:
        patient = session.get(Patient, row_id)
        assert patient is not None
        session.expunge(patient)
        return patient


def test_a_value_set_on_a_model_reads_back_after_a_database_round_trip(
    cipher: FieldCipher, engine: Engine
) -> None:
    """Domain code sets and gets text; the session stores and loads bytes."""
    patient = Patient(practice_id="cabinet-a", name=CANARY, phone="+33612345678")
    assert patient.name == CANARY
    _save(engine, patient)
    loaded = _load(engine, patient.id)
    assert (loaded.name, loaded.phone) == (CANARY, "+33612345678")


def test_the_database_holds_only_ciphertext(cipher: FieldCipher, engine: Engine) -> None:
    """The raw column is the encrypted blob under the active key, never the name."""
    patient = Patient(practice_id="cabinet-a", name=CANARY)
    _save(engine, patient)
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT name FROM patients")).scalar_one()
    assert CANARY.encode() not in raw
    assert key_id_of(raw) == cipher.keyring.active_id


def test_none_is_stored_as_null_and_reads_as_none(cipher: FieldCipher, engine: Engine) -> None:
    """No value, no ciphertext; clearing a value writes NULL."""
    patient = Patient(practice_id="cabinet-a", name=CANARY)
    patient.name = None
    _save(engine, patient)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name, phone FROM patients")).one() == (None, None)
    assert _load(engine, patient.id).name is None


def test_the_ciphertext_is_bound_to_the_database_table_and_column_names(
    cipher: FieldCipher,
) -> None:
    """The associated data uses "patients"/"name", not the Python attribute "name_ct"."""
    patient = Patient(practice_id="cabinet-a", name=CANARY)
    assert patient.name_ct is not None
    place = {"practice": "cabinet-a", "table": "patients", "row": patient.id}
    assert cipher.decrypt(patient.name_ct, column="name", **place) == CANARY


def test_a_ciphertext_copied_to_another_row_fails_to_read(
    cipher: FieldCipher, engine: Engine
) -> None:
    """Swapping values between rows in the database raises, never shows data."""
    first = Patient(practice_id="cabinet-a", name=CANARY)
    second = Patient(practice_id="cabinet-a", name="Durand")
    _save(engine, first, second)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE patients SET name = (SELECT name FROM patients WHERE id = :a) WHERE id = :b"
            ),
            {"a": first.id, "b": second.id},
        )
    with pytest.raises(DecryptionError):
        _ = _load(engine, second.id).name
    assert _load(engine, first.id).name == CANARY


def test_a_ciphertext_copied_to_another_column_fails_to_read(
    cipher: FieldCipher, engine: Engine
) -> None:
    """The column name is part of the binding."""
    patient = Patient(practice_id="cabinet-a", name=CANARY)
    _save(engine, patient)
    with engine.begin() as conn:
        conn.execute(text("UPDATE patients SET phone = name"))
    with pytest.raises(DecryptionError):
        _ = _load(engine, patient.id).phone


def test_a_row_moved_to_another_practice_fails_to_read(cipher: FieldCipher, engine: Engine) -> None:
    """Changing practice_id under a value breaks it: practices cannot borrow rows."""
    patient = Patient(practice_id="cabinet-a", name=CANARY)
    _save(engine, patient)
    with engine.begin() as conn:
        conn.execute(text("UPDATE patients SET practice_id = 'cabinet-b'"))
    with pytest.raises(DecryptionError):
        _ = _load(engine, patient.id).name


@pytest.mark.parametrize("missing", ["id", "practice_id"])
def test_setting_a_value_before_the_row_id_and_practice_is_refused(
    cipher: FieldCipher, missing: str
) -> None:
    """Without them the value could not be bound to its row."""
    patient = Patient(practice_id="cabinet-a")
    setattr(patient, missing, None)
    with pytest.raises(EncryptedFieldError, match=f"set {missing} before"):
        patient.name = CANARY
    assert patient.name_ct is None


def test_only_text_can_be_set(cipher: FieldCipher) -> None:
    """Bytes or numbers are a programming error, not silently str()-ed."""
    patient = Patient(practice_id="cabinet-a")
    with pytest.raises(TypeError, match=r"Patient\.name takes text"):
        patient.name = 42  # type: ignore[assignment]


def test_without_an_installed_cipher_nothing_is_encrypted_or_read() -> None:
    """Refusing beats storing clear text or returning nothing."""
    with using_cipher(None):
        patient = Patient(practice_id="cabinet-a")
        with pytest.raises(RuntimeError, match="no field cipher bound"):
            patient.name = CANARY
        with pytest.raises(RuntimeError, match="no field cipher bound"):
            current_cipher()


def test_the_context_manager_restores_the_previous_cipher() -> None:
    """Tests can swap ciphers without leaking them into each other."""
    outer, inner = FieldCipher(KeyRing.generate()), FieldCipher(KeyRing.generate())
    with using_cipher(outer):
        with using_cipher(inner):
            assert current_cipher() is inner
        assert current_cipher() is outer


def test_a_bound_cipher_is_not_seen_by_other_threads() -> None:
    """Each boundary binds its own: there is no process-wide cipher to leak."""
    seen: list[FieldCipher | None] = []

    def other() -> None:
        try:
            seen.append(current_cipher())
        except RuntimeError:
            seen.append(None)

    with using_cipher(FieldCipher(KeyRing.generate())):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert seen == [None]


def test_the_class_attribute_is_the_descriptor_and_fields_are_listed() -> None:
    """keys reencrypt walks encrypted_fields() of each model."""
    assert isinstance(Patient.name, EncryptedField)
    assert set(encrypted_fields(Patient)) == {"name", "phone"}


def test_reencrypt_row_moves_a_row_to_the_active_key(cipher: FieldCipher, engine: Engine) -> None:
    """After a rotation the helper rewrites old values; they still read back."""
    patient = Patient(practice_id="cabinet-a", name=CANARY)
    _save(engine, patient)
    old = cipher.keyring.active_id
    new = cipher.keyring.rotate()
    with Session(engine) as session:
        row = session.get(Patient, patient.id)
        assert row is not None
        assert reencrypt_row(row) == 1  # phone is NULL: nothing to move
        assert reencrypt_row(row) == 0  # already under the active key
        session.commit()
    cipher.keyring.retire(old)
    loaded = _load(engine, patient.id)
    assert loaded.name_ct is not None
    assert key_id_of(loaded.name_ct) == new
    assert loaded.name == CANARY
    assert loaded.phone is None


def test_the_key_of_each_stored_value_can_be_read_without_decrypting(
    cipher: FieldCipher,
) -> None:
    """Counting rows per key only needs the header."""
    patient = Patient(practice_id="cabinet-a", name=CANARY)
    assert Patient.name.key_id(patient) == cipher.keyring.active_id
    assert Patient.phone.key_id(patient) is None
