"""The doctors' own calendars: linked calendars, the events seen there, the busy time
they hold, and the writes still to make.

Revision ID: 0004
Revises: 0003_fhir_clients
Create Date: 2026-12-06 17:48:14.623879
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003_fhir_clients"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agenda_calendars",
        sa.Column("practice_id", sa.String(length=64), nullable=False),
        sa.Column("doctor_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=512), nullable=False),
        sa.Column("sync_token", sa.String(length=512), nullable=True),
        sa.Column("expanded_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("practice_id", "doctor_id"),
    )
    op.create_table(
        "agenda_events",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=64), nullable=False),
        sa.Column("doctor_id", sa.String(length=64), nullable=False),
        sa.Column("href", sa.String(length=512), nullable=False),
        sa.Column("etag", sa.String(length=256), nullable=True),
        sa.Column("appointment_id", sa.String(length=32), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("practice_id", "doctor_id", "href"),
    )
    with op.batch_alter_table("agenda_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agenda_events_appointment_id"), ["appointment_id"], unique=False
        )
    op.create_table(
        "agenda_busy",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=64), nullable=False),
        sa.Column("doctor_id", sa.String(length=64), nullable=False),
        sa.Column("href", sa.String(length=512), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("agenda_busy", schema=None) as batch_op:
        batch_op.create_index(
            "ix_agenda_busy_doctor", ["practice_id", "doctor_id", "starts_at"], unique=False
        )
    op.create_table(
        "agenda_writes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=64), nullable=False),
        sa.Column("doctor_id", sa.String(length=64), nullable=False),
        sa.Column("appointment_id", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("appointment_id"),
    )
    with op.batch_alter_table("agenda_writes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agenda_writes_due_at"), ["due_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_agenda_writes_practice_id"), ["practice_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_agenda_writes_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("agenda_writes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agenda_writes_status"))
        batch_op.drop_index(batch_op.f("ix_agenda_writes_practice_id"))
        batch_op.drop_index(batch_op.f("ix_agenda_writes_due_at"))
    op.drop_table("agenda_writes")
    with op.batch_alter_table("agenda_busy", schema=None) as batch_op:
        batch_op.drop_index("ix_agenda_busy_doctor")
    op.drop_table("agenda_busy")
    with op.batch_alter_table("agenda_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agenda_events_appointment_id"))
    op.drop_table("agenda_events")
    op.drop_table("agenda_calendars")
