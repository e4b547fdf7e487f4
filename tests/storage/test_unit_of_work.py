"""The unit of work: one transaction, and the tasks its work asked for once it committed."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from callcenter.storage.db import Database
from callcenter.storage.unit_of_work import Task, after_commit, unit_of_work


def test_tasks_come_back_once_committed_in_the_order_first_asked(db: Database) -> None:
    with unit_of_work(db) as work:
        after_commit(work.session, Task.REQUEST_DELETIONS)
        after_commit(work.session, Task.SEND_SMS)
        after_commit(work.session, Task.REQUEST_DELETIONS)
        assert work.tasks == ()  # nothing is due before the commit
    assert work.tasks == (Task.REQUEST_DELETIONS, Task.SEND_SMS)


def test_work_rolled_back_leaves_no_task(db: Database) -> None:
    with pytest.raises(RuntimeError), unit_of_work(db) as work:
        after_commit(work.session, Task.SEND_SMS)
        raise RuntimeError("the webhook failed")
    assert work.tasks == ()


def test_outside_a_unit_of_work_or_on_another_session_nothing_is_asked(db: Database) -> None:
    with db.session() as session:
        after_commit(session, Task.SEND_SMS)  # a job or a command: the worker's loops send it
    with unit_of_work(db) as work, db.session() as other:
        after_commit(other, Task.SEND_SMS)
        work.session.execute(text("SELECT 1"))
    assert work.tasks == ()
