"""The waiting list: patients waiting for an earlier slot, and the freed slots offered to them.

Revision ID: 0007_waiting_list
Revises: 0005_message_kind
Create Date: 2026-12-06 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007_waiting_list"
down_revision: str | Sequence[str] | None = "0006_patient_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "waiting_list",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("phone_index", sa.Integer(), nullable=True),
        sa.Column("phone", sa.LargeBinary(), nullable=True),
        sa.Column("doctor_id", sa.String(length=64), nullable=True),
        sa.Column("before", sa.Date(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.Column("appointment_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("waiting_list", schema=None) as batch_op:
        batch_op.create_index(
            "ix_waiting_list_open", ["practice_id", "status", "created_at"], unique=False
        )
        for column in ("ended_at", "patient_id", "phone_index", "practice_id"):
            batch_op.create_index(batch_op.f(f"ix_waiting_list_{column}"), [column], unique=False)
    op.create_table(
        "waiting_list_offers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=64), nullable=False),
        sa.Column("entry_id", sa.String(length=32), nullable=False),
        sa.Column("doctor_id", sa.String(length=64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appointment_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_sid", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["entry_id"], ["waiting_list.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entry_id", "doctor_id", "starts_at"),
    )
    with op.batch_alter_table("waiting_list_offers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_waiting_list_offers_slot", ["practice_id", "doctor_id", "starts_at"], unique=False
        )
        for column in ("created_at", "due_at", "entry_id", "expires_at", "practice_id", "state",
                       "status"):  # fmt: skip
            batch_op.create_index(
                batch_op.f(f"ix_waiting_list_offers_{column}"), [column], unique=False
            )


def downgrade() -> None:
    op.drop_table("waiting_list_offers")
    op.drop_table("waiting_list")
