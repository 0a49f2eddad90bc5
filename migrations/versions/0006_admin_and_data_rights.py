"""screening retention setting; erased accounts

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 07:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clinic_policy', schema=None) as batch_op:
        batch_op.add_column(sa.Column('screening_retention_years', sa.Integer(), nullable=False, server_default='5'))
        batch_op.create_check_constraint('retention_positive', 'screening_retention_years >= 1')

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('erased_at')

    with op.batch_alter_table('clinic_policy', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_clinic_policy_retention_positive'), type_='check')
        batch_op.drop_column('screening_retention_years')
