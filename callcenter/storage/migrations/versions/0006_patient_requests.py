"""Requests with a life of their own (prescription renewals, results, certificates) and
the one SMS that tells the patient a request was handled.

Messages left with a kind before this revision stay messages (the console's
messages page still shows their kind); only new calls leave requests.

Revision ID: 0006_patient_requests
Revises: 0005_message_kind
Create Date: 2026-12-06 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006_patient_requests"
down_revision: str | Sequence[str] | None = "0005_message_kind"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "patient_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=64), nullable=False),
        sa.Column("call_id", sa.String(length=32), nullable=True),
        sa.Column("patient_id", sa.String(length=32), nullable=True),
        sa.Column("doctor_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("callback_index", sa.Integer(), nullable=True),
        sa.Column("callback_number", sa.LargeBinary(), nullable=True),
        sa.Column("detail", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handled_by", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_id"),
    )
    with op.batch_alter_table("patient_requests", schema=None) as batch_op:
        for column in ("practice_id", "patient_id", "callback_index", "status", "created_at"):
            batch_op.create_index(batch_op.f(f"ix_patient_requests_{column}"), [column])
    op.create_table(
        "request_sms",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_sid", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["patient_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
    )
    with op.batch_alter_table("request_sms", schema=None) as batch_op:
        for column in ("practice_id", "status", "due_at"):
            batch_op.create_index(batch_op.f(f"ix_request_sms_{column}"), [column])


def downgrade() -> None:
    op.drop_table("request_sms")
    op.drop_table("patient_requests")
