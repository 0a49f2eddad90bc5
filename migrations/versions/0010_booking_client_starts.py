"""a client's bookings by start: one index on (client_id, starts_at) instead of client_id alone

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 12:50:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    # /my/bookings reads a client's bookings a page at a time in start order; with an index on
    # client_id alone, PostgreSQL walked the whole start index backwards for a client with
    # few bookings among a million (4 s a page).
    op.create_index('ix_booking_client_starts', 'booking', ['client_id', 'starts_at'], unique=False)
    op.drop_index('ix_booking_client_id', table_name='booking')


def downgrade():
    op.create_index('ix_booking_client_id', 'booking', ['client_id'], unique=False)
    op.drop_index('ix_booking_client_starts', table_name='booking')
