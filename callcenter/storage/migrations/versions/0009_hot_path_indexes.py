"""Indexes that keep a webhook's cost flat however many calls are stored: the caller's
calls of the last minute (throttle) and a practice's calls of the last hour (withheld
throttle) are read by an index range on (practice, [caller's blind index,] start).
The practice's own index is a prefix of both, so it goes.

Revision ID: 0009_hot_path_indexes
Revises: 0005_message_kind
Create Date: 2026-12-06 19:40:00
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009_hot_path_indexes"
down_revision: str | Sequence[str] | None = "0008_sms_replies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_calls_practice_caller_started", "calls", ["practice_id", "caller_index", "started_at"]
    )
    op.create_index("ix_calls_practice_started", "calls", ["practice_id", "started_at"])
    op.drop_index("ix_calls_practice_id", table_name="calls")


def downgrade() -> None:
    op.create_index("ix_calls_practice_id", "calls", ["practice_id"])
    op.drop_index("ix_calls_practice_started", table_name="calls")
    op.drop_index("ix_calls_practice_caller_started", table_name="calls")
