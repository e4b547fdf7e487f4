"""SMS replies: the SIDs of patients' texts (retries answered once), the STOP opt-outs
(number encrypted, blind index), and how an appointment's cancellation came.

Revision ID: 0008_sms_replies
Revises: 0005_message_kind
Create Date: 2026-12-06 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008_sms_replies"
down_revision: str | Sequence[str] | None = "0007_waiting_list"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_replies",
        sa.Column("message_sid", sa.String(length=64), nullable=False),
        sa.Column("practice_id", sa.String(length=64), nullable=False),
        sa.Column("keyword", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_sid"),
    )
    op.create_index(op.f("ix_sms_replies_practice_id"), "sms_replies", ["practice_id"])
    op.create_index(op.f("ix_sms_replies_received_at"), "sms_replies", ["received_at"])
    op.create_table(
        "sms_opt_outs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=64), nullable=False),
        sa.Column("phone_index", sa.Integer(), nullable=True),
        sa.Column("phone", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_sms_opt_outs_practice_id"), "sms_opt_outs", ["practice_id"])
    op.create_index(op.f("ix_sms_opt_outs_phone_index"), "sms_opt_outs", ["phone_index"])
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancelled_via", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_column("cancelled_via")
    op.drop_index(op.f("ix_sms_opt_outs_phone_index"), table_name="sms_opt_outs")
    op.drop_index(op.f("ix_sms_opt_outs_practice_id"), table_name="sms_opt_outs")
    op.drop_table("sms_opt_outs")
    op.drop_index(op.f("ix_sms_replies_received_at"), table_name="sms_replies")
    op.drop_index(op.f("ix_sms_replies_practice_id"), table_name="sms_replies")
    op.drop_table("sms_replies")
