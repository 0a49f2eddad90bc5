"""languages: a user's chosen language, techniques' translated texts

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 13:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=8), nullable=True))
    with op.batch_alter_table('technique', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('translations', sa.JSON(), nullable=False, server_default='{}')
        )


def downgrade():
    with op.batch_alter_table('technique', schema=None) as batch_op:
        batch_op.drop_column('translations')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('locale')
