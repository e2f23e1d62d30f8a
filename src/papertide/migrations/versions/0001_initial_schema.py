"""Initial schema: catalog, community and digest tables.

Revision ID: 0001
Revises: 
Create Date: 2026-11-24 03:21:35.925051
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import papertide.orm

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # pgvector, for embeddings; installing it needs a superuser once (see docs/admin-guide.md).
        op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table('harvest_checkpoints',
    sa.Column('key', sa.String(length=500), nullable=False),
    sa.Column('state', JSON_DOCUMENT, nullable=False),
    sa.Column('updated_at', papertide.orm.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_harvest_checkpoints'))
    )
    op.create_table('content_versions',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_content_versions'))
    )
    op.create_table('rate_limit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('created_at', papertide.orm.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_limit_events'))
    )
    with op.batch_alter_table('rate_limit_events', schema=None) as batch_op:
        batch_op.create_index('ix_rate_limit_events_key_created_at', ['key', 'created_at'], unique=False)

    op.create_table('organizations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('created_at', papertide.orm.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organizations')),
    sa.UniqueConstraint('slug', name=op.f('uq_organizations_slug'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=40), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=True),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('is_blocked', sa.Boolean(), nullable=False),
    sa.Column('created_at', papertide.orm.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('moderation_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('moderator_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target_type', sa.String(length=20), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('created_at', papertide.orm.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['moderator_id'], ['users.id'], name=op.f('fk_moderation_actions_moderator_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_actions'))
    )
    op.create_table('papers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('arxiv_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('abstract', sa.Text(), nullable=False),
    sa.Column('authors', JSON_DOCUMENT, nullable=False),
    sa.Column('published_at', papertide.orm.UTCDateTime(), nullable=True),
    sa.Column('updated_at', papertide.orm.UTCDateTime(), nullable=True),
    sa.Column('categories', JSON_DOCUMENT, nullable=False),
    sa.Column('primary_category', sa.String(length=40), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('journal_ref', sa.Text(), nullable=True),
    sa.Column('doi', sa.String(length=200), nullable=True),
    sa.Column('github_repo', sa.String(length=1000), nullable=True),
    sa.Column('github_stars', sa.Integer(), nullable=True),
    sa.Column('project_page', sa.String(length=1000), nullable=True),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('ai_summary', sa.Text(), nullable=True),
    sa.Column('ai_keywords', JSON_DOCUMENT, nullable=True),
    sa.Column('imported_upvotes', sa.Integer(), nullable=False),
    sa.Column('imported_comments', sa.Integer(), nullable=False),
    sa.Column('vote_count', sa.Integer(), nullable=False),
    sa.Column('comment_count', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('hidden_reason', sa.String(length=500), nullable=True),
    sa.Column('created_at', papertide.orm.UTCDateTime(), nullable=False),
    sa.Column('modified_at', papertide.orm.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_papers_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_papers')),
    sa.UniqueConstraint('arxiv_id', name=op.f('uq_papers_arxiv_id'))
    )
    with op.batch_alter_table('papers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_papers_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_papers_published_at'), ['published_at'], unique=False)

    op.create_table('subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('frequency', sa.String(length=10), nullable=False),
    sa.Column('content', sa.String(length=20), nullable=False),
    sa.Column('topics', JSON_DOCUMENT, nullable=False),
    sa.Column('follow_organizations', JSON_DOCUMENT, nullable=False),
    sa.Column('follow_authors', JSON_DOCUMENT, nullable=False),
    sa.Column('max_papers', sa.Integer(), nullable=False),
    sa.Column('created_at', papertide.orm.UTCDateTime(), nullable=False),
    sa.Column('confirmed_at', papertide.orm.UTCDateTime(), nullable=True),
    sa.Column('unsubscribed_at', papertide.orm.UTCDateTime(), nullable=True),
    sa.Column('confirmation_sent_at', papertide.orm.UTCDateTime(), nullable=True),
    sa.Column('bounce_reason', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_subscriptions_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions')),
    sa.UniqueConstraint('email', name=op.f('uq_subscriptions_email'))
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriptions_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscriptions_user_id'), ['user_id'], unique=False)

    op.create_table('comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('paper_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('created_at', papertide.orm.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['paper_id'], ['papers.id'], name=op.f('fk_comments_paper_id_papers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['comments.id'], name=op.f('fk_comments_parent_id_comments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_comments_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comments'))
    )
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comments_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_comments_paper_id'), ['paper_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_comments_user_id'), ['user_id'], unique=False)

    op.create_table('daily_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('paper_id', sa.Integer(), nullable=False),
    sa.Column('daily_date', sa.Date(), nullable=False),
    sa.Column('submitted_at', papertide.orm.UTCDateTime(), nullable=False),
    sa.Column('submitted_by_user_id', sa.Integer(), nullable=True),
    sa.Column('submitted_by_name', sa.String(length=100), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['paper_id'], ['papers.id'], name=op.f('fk_daily_entries_paper_id_papers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submitted_by_user_id'], ['users.id'], name=op.f('fk_daily_entries_submitted_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_daily_entries')),
    sa.UniqueConstraint('paper_id', name=op.f('uq_daily_entries_paper_id'))
    )
    with op.batch_alter_table('daily_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_daily_entries_daily_date'), ['daily_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_daily_entries_submitted_by_user_id'), ['submitted_by_user_id'], unique=False)

    op.create_table('digest_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('period_key', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', papertide.orm.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('message_id', sa.String(length=300), nullable=True),
    sa.Column('paper_ids', JSON_DOCUMENT, nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('claimed_at', papertide.orm.UTCDateTime(), nullable=True),
    sa.Column('created_at', papertide.orm.UTCDateTime(), nullable=False),
    sa.Column('sent_at', papertide.orm.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_digest_outbox_subscription_id_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_outbox')),
    sa.UniqueConstraint('subscription_id', 'period_key', name=op.f('uq_digest_outbox_subscription_id'))
    )
    with op.batch_alter_table('digest_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_outbox_status'), ['status'], unique=False)

    op.create_table('votes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('paper_id', sa.Integer(), nullable=False),
    sa.Column('created_at', papertide.orm.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['paper_id'], ['papers.id'], name=op.f('fk_votes_paper_id_papers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_votes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_votes')),
    sa.UniqueConstraint('user_id', 'paper_id', name=op.f('uq_votes_user_id'))
    )
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_votes_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_votes_paper_id'), ['paper_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_votes_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_votes_user_id'))
        batch_op.drop_index(batch_op.f('ix_votes_paper_id'))
        batch_op.drop_index(batch_op.f('ix_votes_created_at'))

    op.drop_table('votes')
    with op.batch_alter_table('digest_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_outbox_status'))

    op.drop_table('digest_outbox')
    with op.batch_alter_table('daily_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_daily_entries_submitted_by_user_id'))
        batch_op.drop_index(batch_op.f('ix_daily_entries_daily_date'))

    op.drop_table('daily_entries')
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comments_user_id'))
        batch_op.drop_index(batch_op.f('ix_comments_paper_id'))
        batch_op.drop_index(batch_op.f('ix_comments_created_at'))

    op.drop_table('comments')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriptions_user_id'))
        batch_op.drop_index(batch_op.f('ix_subscriptions_status'))

    op.drop_table('subscriptions')
    with op.batch_alter_table('papers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_papers_published_at'))
        batch_op.drop_index(batch_op.f('ix_papers_organization_id'))

    op.drop_table('papers')
    op.drop_table('moderation_actions')
    op.drop_table('users')
    op.drop_table('organizations')
    op.drop_table('harvest_checkpoints')
    with op.batch_alter_table('rate_limit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_rate_limit_events_key_created_at')

    op.drop_table('rate_limit_events')
    op.drop_table('content_versions')
