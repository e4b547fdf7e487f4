"""The call of a webhook, read and written by a few prepared Core statements.

Every voice webhook reads one call and writes it back with the answer: the
ORM's identity map, change tracking and flush cost more than the rest of the
request.  A :class:`LiveCall` holds the row's values as plain attributes, keeps
the names of the ones a flow changed, and :func:`store_step` writes exactly
those with the version check on ``seq`` and the answer's row, in one round
trip on PostgreSQL (a data-modifying CTE) and two on SQLite.  Encrypted values
go through the same place (practice, table, column, row) as the mapped
:class:`~callcenter.calls.models.Call`, so either reads what the other wrote.
The ORM models stay for everything else (console, commands, rare paths).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    Integer,
    LargeBinary,
    String,
    Table,
    and_,
    bindparam,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert, Update
from sqlalchemy.sql.elements import BindParameter

from callcenter.calls.models import Call, CallStep, QueueEntry
from callcenter.security.crypto import FieldCipher
from callcenter.security.encrypted import EncryptedField
from callcenter.storage.db import UTCDateTime, new_id

CALLS = cast(Table, Call.__table__)
STEPS = cast(Table, CallStep.__table__)
QUEUE = cast(Table, QueueEntry.__table__)
#: Attribute name → column of ``calls`` (``caller_ct`` is the column ``caller``).
COLUMNS: dict[str, Any] = {attr.key: attr.columns[0] for attr in Call.__mapper__.column_attrs}
WITHHELD = "withheld"  # in a call's state: the caller's number was withheld on arrival


class LiveCall:
    """One call's row as plain attributes; what a flow sets is written back by one UPDATE."""

    new: bool  # not stored yet: written by an INSERT
    _changed: set[str]
    id: str
    practice_id: str
    call_sid: str
    caller_index: int | None
    caller_ct: bytes | None
    patient_id: str | None
    status: str
    started_at: datetime
    ended_at: datetime | None
    duration: int | None
    flow: str
    node: str
    seq: int
    state: dict[str, Any]
    outcome: str | None
    urgent: bool

    caller = EncryptedField("caller_ct", table="calls", column="caller")

    def __init__(self, values: dict[str, Any], new: bool) -> None:
        object.__setattr__(self, "_changed", set())
        object.__setattr__(self, "new", new)
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name in COLUMNS:
            self._changed.add(name)

    @classmethod
    def start(cls, **values: Any) -> LiveCall:
        """A new call, its id given before any encrypted value (they are bound to it)."""
        caller = values.pop("caller", None)
        defaults = {"status": "in-progress", "patient_id": None, "ended_at": None,
                    "duration": None, "outcome": None, "urgent": False,
                    "caller_ct": None}  # fmt: skip
        call = cls({"id": new_id(), **defaults, **values}, new=True)
        if caller is not None:
            call.caller = caller
        return call

    def changed(self) -> dict[str, Any]:
        """The values set since the row was read (all of them for a new call), by column key."""
        names = COLUMNS if self.new else self._changed
        return {COLUMNS[name].key: getattr(self, name) for name in names if name != "seq"}


# -- reading ---------------------------------------------------------------------------

#: (attribute, position in ``select(CALLS)``) for building a call from a row.
_POSITIONS = [(name, list(CALLS.c).index(column)) for name, column in COLUMNS.items()]


@cache
def _load() -> Any:
    """The call by its SID, with the answer already stored under ``seq`` (a retry) if any."""
    return (
        select(CALLS, STEPS.c.id, STEPS.c.node, STEPS.c.twiml)
        .outerjoin(STEPS, and_(STEPS.c.call_id == CALLS.c.id, STEPS.c.seq == bindparam("seq")))
        .where(CALLS.c.call_sid == bindparam("sid"))
    )


class Stored:
    """An answer stored under (call, seq): what a retry gets again."""

    __slots__ = ("node", "twiml")

    def __init__(self, node: str, twiml: str) -> None:
        self.node, self.twiml = node, twiml


def load(
    session: Session, call_sid: str, seq: int, cipher: FieldCipher
) -> tuple[LiveCall | None, Stored | None]:
    """The call and, when one is stored under ``seq``, its answer: one statement."""
    row = session.execute(_load(), {"sid": call_sid, "seq": seq}).first()
    if row is None:
        return None, None
    call = LiveCall({name: row[i] for name, i in _POSITIONS}, new=False)
    step_id, node, blob = row[-3:]
    if step_id is None:
        return call, None
    twiml = cipher.decrypt(bytes(blob), practice=call.practice_id, table="call_steps",
                           column="twiml", row=step_id)  # fmt: skip
    return call, Stored(node, twiml)


@cache
def _recent_from() -> Any:
    return select(CALLS.c.id, CALLS.c.practice_id, CALLS.c.caller).where(
        CALLS.c.practice_id == bindparam("practice"),
        CALLS.c.caller_index == bindparam("index"),
        CALLS.c.started_at > bindparam("since", type_=UTCDateTime()),
        # A frozen clock set back (a demo, a test) never counts calls "from the future".
        CALLS.c.started_at <= bindparam("now", type_=UTCDateTime()),
    )


def recent_numbers(
    session: Session, practice: str, index: int, since: datetime, now: datetime,
    cipher: FieldCipher,
) -> list[str | None]:  # fmt: skip
    """The numbers of the practice's calls in (since, now] whose blind index is ``index``."""
    rows = session.execute(
        _recent_from(), {"practice": practice, "index": index, "since": since, "now": now}
    )
    return [
        cipher.decrypt(bytes(blob), practice=practice_id, table="calls", column="caller", row=id_)
        if blob is not None
        else None
        for id_, practice_id, blob in rows
    ]


@cache
def _withheld_count() -> Any:
    return select(func.count()).where(
        CALLS.c.practice_id == bindparam("practice"),
        CALLS.c.started_at > bindparam("since", type_=UTCDateTime()),
        CALLS.c.started_at <= bindparam("now", type_=UTCDateTime()),
        CALLS.c.state[WITHHELD].as_boolean() == true(),
    )


def withheld_calls(session: Session, practice: str, since: datetime, now: datetime) -> int:
    """How many of the practice's calls in (since, now] arrived with the number withheld."""
    params = {"practice": practice, "since": since, "now": now}
    return int(session.execute(_withheld_count(), params).scalar_one())


# -- writing ---------------------------------------------------------------------------


def _values(keys: frozenset[str]) -> dict[str, Any]:
    return {key: bindparam(f"v_{key}", type_=CALLS.c[key].type) for key in sorted(keys)}


_STEP_PARAMS: dict[str, BindParameter[Any]] = {
    "id": bindparam("s_id", type_=String()),
    "practice_id": bindparam("s_practice", type_=String()),
    "seq": bindparam("s_seq", type_=Integer()),
    "node": bindparam("s_node", type_=String()),
    "twiml": bindparam("s_twiml", type_=LargeBinary()),
    "created_at": bindparam("s_created", type_=UTCDateTime()),
}


@cache
def _call_write(keys: frozenset[str], new: bool) -> Insert | Update:
    """The call's INSERT, or its UPDATE of ``keys`` guarded by the version (``seq``)."""
    if new:
        return insert(CALLS).values(_values(keys | {"seq"}))
    return (
        update(CALLS)
        .where(CALLS.c.id == bindparam("w_id"), CALLS.c.seq == bindparam("w_seq"))
        .values(_values(keys | {"seq"}))
    )


@cache
def _step_insert() -> Insert:
    return insert(STEPS).values({**_STEP_PARAMS, "call_id": bindparam("s_call", type_=String())})


@cache
def _call_and_step(keys: frozenset[str], new: bool) -> Insert:
    """PostgreSQL: the call's write and the answer's row in one statement.

    The answer is inserted from the call's ``RETURNING``: when the version
    check matches no row, nothing is inserted and nothing is returned (the
    driver's row count of such a statement is not to be trusted).
    """
    written = _call_write(keys, new).returning(CALLS.c.id).cte("written")
    columns = [*_STEP_PARAMS, "call_id"]
    return (
        insert(STEPS)
        .from_select(columns, select(*_STEP_PARAMS.values(), written.c.id))
        .returning(STEPS.c.id)
    )


def store_step(
    session: Session, call: LiveCall, seq: int, node: str, twiml: str, now: datetime,
    cipher: FieldCipher,
) -> bool:  # fmt: skip
    """Write the call's changes (moving it to ``seq + 1``) and the answer to ``seq``.

    False when another request moved the call on first (the version check
    matched no row).  A second answer to the same (call, seq) or a call SID
    seen before raises :class:`~sqlalchemy.exc.IntegrityError`.
    """
    values = call.changed()
    params: dict[str, Any] = {f"v_{key}": value for key, value in values.items()}
    params.update(v_seq=seq + 1, w_id=call.id, w_seq=call.seq)
    step_id = new_id()
    params.update(
        s_id=step_id, s_practice=call.practice_id, s_seq=seq, s_node=node, s_created=now,
        s_call=call.id,
        s_twiml=cipher.encrypt(twiml, practice=call.practice_id, table="call_steps",
                               column="twiml", row=step_id),
    )  # fmt: skip
    keys = frozenset(values)
    if not call.new:
        session.flush()  # what the flow added first: the call may now point at a new patient
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        moved = len(session.execute(_call_and_step(keys, call.new), params).all())
    else:
        moved = session.execute(_call_write(keys, call.new), params).rowcount  # type: ignore[attr-defined]
        if moved:
            session.execute(_step_insert(), params)
    if call.new:
        session.flush()  # what the flow added may point at the new call
    object.__setattr__(call, "seq", seq + 1)
    return bool(moved)


@cache
def _close() -> Update:
    return (
        update(CALLS)
        .where(CALLS.c.call_sid == bindparam("sid"), CALLS.c.ended_at.is_(None))
        .values(
            status=bindparam("new_status"),
            ended_at=bindparam("now", type_=UTCDateTime()),
            duration=bindparam("new_duration", type_=Integer()),
            outcome=func.coalesce(CALLS.c.outcome, "hung-up"),
        )
        .returning(CALLS.c.outcome)
    )


@cache
def _leave_queue() -> Update:
    # A caller who hung up while waiting leaves the queue even if the Enqueue action never comes.
    return (
        update(QUEUE)
        .where(
            # A scalar subquery (a call_sid names one call): the queue row is then found by
            # its key whatever the planner's statistics, never by a walk through the table.
            QUEUE.c.call_id
            == select(CALLS.c.id).where(CALLS.c.call_sid == bindparam("sid")).scalar_subquery(),
            QUEUE.c.left_at.is_(None),
        )
        .values(left_at=bindparam("now", type_=UTCDateTime()), result="hangup")
    )


@cache
def _close_and_leave() -> Any:
    closed = _close().cte("closed")
    return select(closed.c.outcome).add_cte(_leave_queue().cte("left_queue"))


def close(
    session: Session, call_sid: str, status: str, duration: int | None, now: datetime
) -> str | None:
    """End the call (once): its outcome, or None when it was unknown or already ended.

    One statement on PostgreSQL; on SQLite the call's ``UPDATE … RETURNING``
    and the queue's.
    """
    params = {"sid": call_sid, "new_status": status, "new_duration": duration, "now": now}
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(_close_and_leave(), params).all()
    else:
        rows = session.execute(_close(), params).all()
        session.execute(_leave_queue(), params)
    return rows[0][0] if rows else None
