"""The root key ring: generation, rotation, storage and where the server finds it."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from callcenter.security.keyring import KeyRing, KeyRingError, load_keyring


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_a_generated_ring_has_one_active_random_key() -> None:
    """A fresh ring holds one active 32-byte key with a nonzero 4-byte id."""
    ring = KeyRing.generate()
    assert len(ring) == 1
    (key,) = ring.entries()
    assert key.status == "active"
    assert key.key_id == ring.active_id
    assert 0 < key.key_id < 2**32
    assert len(ring.secret(key.key_id)) == 32
    assert key.created_at.endswith("+00:00")


def test_two_generated_rings_share_no_secret() -> None:
    """Keys come from the CSPRNG, so two rings never repeat one."""
    a, b = KeyRing.generate(), KeyRing.generate()
    assert a.secret(a.active_id) != b.secret(b.active_id)


def test_rotation_adds_an_active_key_and_keeps_the_old_one_for_reading() -> None:
    """rotate() returns the new active id; the previous key stays, as "read"."""
    ring = KeyRing.generate()
    old = ring.active_id
    new = ring.rotate()
    assert new != old
    assert ring.active_id == new
    statuses = {k.key_id: k.status for k in ring.entries()}
    assert statuses == {old: "read", new: "active"}
    assert ring.key_ids() == [new, old]


def test_a_key_added_for_reading_is_not_used_until_promoted() -> None:
    """add() then promote() is the two-step rotation of a multi-instance deployment."""
    ring = KeyRing.generate()
    old = ring.active_id
    added = ring.add()
    assert ring.active_id == old
    ring.promote(added)
    assert ring.active_id == added


def test_retiring_a_read_key_removes_it() -> None:
    """A retired key's secret is gone from the ring."""
    ring = KeyRing.generate()
    old = ring.active_id
    ring.rotate()
    ring.retire(old)
    assert old not in ring
    with pytest.raises(KeyRingError, match="not in the key ring"):
        ring.secret(old)


def test_retiring_the_active_key_is_refused() -> None:
    """The ring would be left without a key to encrypt with."""
    ring = KeyRing.generate()
    with pytest.raises(KeyRingError, match="active key"):
        ring.retire(ring.active_id)
    assert len(ring) == 1


def test_retiring_or_asking_for_an_unknown_key_is_an_error() -> None:
    """Unknown ids raise KeyRingError rather than returning nothing."""
    ring = KeyRing.generate()
    unknown = ring.active_id ^ 1
    with pytest.raises(KeyRingError):
        ring.retire(unknown)
    with pytest.raises(KeyRingError):
        ring.secret(unknown)
    with pytest.raises(KeyRingError):
        ring.promote(unknown)


def test_the_signing_key_signs_what_the_verify_key_checks() -> None:
    """The Ed25519 pair for audit checkpoints works, and survives a save and load."""
    ring = KeyRing.generate()
    again = KeyRing.from_json(ring.to_json())
    signature = ring.signing_key().sign(b"seq=1 hash=ab")
    again.verify_key().verify(signature, b"seq=1 hash=ab")


def test_the_repr_of_a_ring_shows_no_secret() -> None:
    """A ring that ends up in a log or traceback leaks no key material."""
    ring = KeyRing.generate()
    secret_b64 = base64.b64encode(ring.secret(ring.active_id)).decode()
    for text in (repr(ring), repr(ring.entries())):
        assert secret_b64 not in text
        assert repr(ring.secret(ring.active_id)) not in text


def test_a_saved_ring_loads_back_identical_and_is_mode_600(tmp_path: Path) -> None:
    """save() writes JSON with format 1 that load() reads back, owner-only."""
    ring = KeyRing.generate()
    ring.rotate()
    path = tmp_path / "keyring.json"
    ring.save(path)
    assert _mode(path) == 0o600
    assert json.loads(path.read_text())["format"] == 1
    loaded = KeyRing.load(path)
    assert loaded.to_json() == ring.to_json()
    assert loaded.active_id == ring.active_id


def test_saving_over_a_loose_file_leaves_it_600_and_no_temporary_file(tmp_path: Path) -> None:
    """The atomic replace swaps in a fresh 0600 file instead of reusing the old one."""
    path = _write(tmp_path / "keyring.json", "{}", 0o644)
    KeyRing.generate().save(path)
    assert _mode(path) == 0o600
    assert os.listdir(tmp_path) == ["keyring.json"]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_a_ring_file_others_can_access_is_refused(tmp_path: Path, mode: int) -> None:
    """Group or world access bits make load() fail and say how to fix it."""
    path = tmp_path / "keyring.json"
    KeyRing.generate().save(path)
    path.chmod(mode)
    with pytest.raises(KeyRingError, match=r"readable by its owner only \(chmod 600\)"):
        KeyRing.load(path)


def test_a_ring_file_with_mode_600_is_accepted(tmp_path: Path) -> None:
    """0600 is the expected mode."""
    path = tmp_path / "keyring.json"
    path.write_text(KeyRing.generate().to_json())
    path.chmod(0o600)
    assert len(KeyRing.load(path)) == 1


def _valid() -> dict[str, object]:
    return json.loads(KeyRing.generate().to_json())


def _with(**changes: object) -> str:
    data = _valid()
    data.update(changes)
    return json.dumps(data)


def _with_key(**changes: object) -> str:
    data = _valid()
    data["keys"][0].update(changes)  # type: ignore[index]
    return json.dumps(data)


def _two_active() -> str:
    data = _valid()
    extra = dict(data["keys"][0])  # type: ignore[index]
    extra["id"] = extra["id"] ^ 1
    data["keys"].append(extra)  # type: ignore[attr-defined]
    return json.dumps(data)


def _duplicate_ids() -> str:
    data = _valid()
    extra = dict(data["keys"][0], status="read")  # type: ignore[index]
    data["keys"].append(extra)  # type: ignore[attr-defined]
    return json.dumps(data)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", "JSON object"),
        (_with(format=2), "unsupported format"),
        (_with(keys=[]), "non-empty list"),
        (_with(keys=["x"]), r"keys\[0\] must be an object"),
        (_with(signing_key="!!"), "signing_key is not valid base64"),
        (_with(signing_key=base64.b64encode(b"short").decode()), "signing_key must be 32"),
        (_with_key(secret="@@@"), "not valid base64"),
        (_with_key(secret=base64.b64encode(b"x" * 16).decode()), "must be 32 bytes"),
        (_with_key(id=0), "key id must be"),
        (_with_key(id=2**32), "key id must be"),
        (_with_key(id="7"), "key id must be"),
        (_with_key(status="primary"), "status must be"),
        (_with_key(status="read"), "exactly one active key, found 0"),
        (_two_active(), "exactly one active key, found 2"),
        (_duplicate_ids(), "duplicate key id"),
    ],
    ids=lambda value: value[:30],  # stable ids: the files hold random keys
)
def test_a_malformed_ring_file_fails_with_a_one_line_error(
    tmp_path: Path, text: str, message: str
) -> None:
    """Each defect is named in a single line that names the file."""
    path = _write(tmp_path / "keyring.json", text)
    with pytest.raises(KeyRingError, match=message) as info:
        KeyRing.load(path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)


def test_a_ring_file_that_is_not_utf8_is_malformed(tmp_path: Path) -> None:
    """Binary garbage is reported like bad JSON, not as a UnicodeDecodeError."""
    path = tmp_path / "keyring.json"
    path.write_bytes(b"\xff\xfe\x00")
    path.chmod(0o600)
    with pytest.raises(KeyRingError, match="not valid JSON"):
        KeyRing.load(path)


def test_the_keyring_variable_wins_over_the_file_variable_and_home(tmp_path: Path) -> None:
    """CALLCENTER_KEYRING holding the JSON itself is used first."""
    inline, by_file, at_home = KeyRing.generate(), KeyRing.generate(), KeyRing.generate()
    by_file.save(tmp_path / "other.json")
    at_home.save(tmp_path / "keyring.json")
    environ = {
        "CALLCENTER_KEYRING": inline.to_json(),
        "CALLCENTER_KEYRING_FILE": str(tmp_path / "other.json"),
    }
    assert load_keyring(tmp_path, environ).active_id == inline.active_id


def test_the_keyring_variable_may_hold_base64_of_the_json(tmp_path: Path) -> None:
    """Base64 fits in env files that dislike quotes and newlines."""
    ring = KeyRing.generate()
    encoded = base64.b64encode(ring.to_json().encode()).decode()
    assert load_keyring(tmp_path, {"CALLCENTER_KEYRING": encoded}).active_id == ring.active_id


def test_a_keyring_variable_that_is_neither_json_nor_base64_is_refused(tmp_path: Path) -> None:
    """The error names the variable and does not echo its value."""
    with pytest.raises(KeyRingError, match="CALLCENTER_KEYRING") as info:
        load_keyring(tmp_path, {"CALLCENTER_KEYRING": "sekrit-but-garbled"})
    assert "sekrit" not in str(info.value)


def test_an_empty_keyring_variable_is_refused(tmp_path: Path) -> None:
    """An empty value is a deployment mistake, not a request to look elsewhere."""
    with pytest.raises(KeyRingError, match="empty"):
        load_keyring(tmp_path, {"CALLCENTER_KEYRING": " "})


def test_the_file_variable_wins_over_the_instance_folder(tmp_path: Path) -> None:
    """CALLCENTER_KEYRING_FILE points at a ring kept elsewhere (e.g. a mounted secret)."""
    by_file, at_home = KeyRing.generate(), KeyRing.generate()
    by_file.save(tmp_path / "other.json")
    at_home.save(tmp_path / "keyring.json")
    environ = {"CALLCENTER_KEYRING_FILE": str(tmp_path / "other.json")}
    assert load_keyring(tmp_path, environ).active_id == by_file.active_id


def test_the_file_variable_is_held_to_the_same_permission_rule(tmp_path: Path) -> None:
    """A world-readable mounted ring is refused too."""
    path = tmp_path / "other.json"
    KeyRing.generate().save(path)
    path.chmod(0o644)
    with pytest.raises(KeyRingError, match="chmod 600"):
        load_keyring(tmp_path, {"CALLCENTER_KEYRING_FILE": str(path)})


def test_without_variables_the_ring_comes_from_the_instance_folder(tmp_path: Path) -> None:
    """The default place is home/keyring.json."""
    ring = KeyRing.generate()
    ring.save(tmp_path / "keyring.json")
    assert load_keyring(tmp_path, {}).active_id == ring.active_id


def test_a_missing_ring_is_an_error_that_points_to_init_and_creates_nothing(
    tmp_path: Path,
) -> None:
    """The server never generates keys: that would orphan every stored ciphertext."""
    with pytest.raises(KeyRingError, match="run 'callcenter init'") as info:
        load_keyring(tmp_path, {})
    assert str(tmp_path / "keyring.json") in str(info.value)
    assert os.listdir(tmp_path) == []


def test_a_missing_file_named_by_the_variable_is_the_same_error(tmp_path: Path) -> None:
    """The message names the path that was looked for."""
    missing = tmp_path / "nowhere.json"
    with pytest.raises(KeyRingError, match="callcenter init") as info:
        load_keyring(tmp_path, {"CALLCENTER_KEYRING_FILE": str(missing)})
    assert str(missing) in str(info.value)
