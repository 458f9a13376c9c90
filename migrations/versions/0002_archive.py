"""archive

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 15:27:31.700648
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('index_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('object_type', sa.String(length=20), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_index_outbox'))
    )
    with op.batch_alter_table('index_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_index_outbox_object_id'), ['object_id'], unique=False)

    op.create_table('document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('doc_type', sa.String(length=40), nullable=False),
    sa.Column('region_code', sa.String(length=8), nullable=True),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('signature_date', sa.Date(), nullable=True),
    sa.Column('effective_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('duration_months', sa.Integer(), nullable=True),
    sa.Column('tacit_renewal', sa.Boolean(), nullable=False),
    sa.Column('notice_months', sa.Integer(), nullable=True),
    sa.Column('keywords', sa.Text(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_document_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['deleted_by_id'], ['user_account.id'], name=op.f('fk_document_deleted_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], name=op.f('fk_document_region_code_region')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_document_updated_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document'))
    )
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_doc_type'), ['doc_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_end_date'), ['end_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_region_code'), ['region_code'], unique=False)
        batch_op.create_index('ix_document_region_year_type', ['region_code', 'year', 'doc_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_updated_at'), ['updated_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_year'), ['year'], unique=False)

    op.create_table('document_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('link_type', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_document_link_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['source_id'], ['document.id'], name=op.f('fk_document_link_source_id_document'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['document.id'], name=op.f('fk_document_link_target_id_document'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_link')),
    sa.UniqueConstraint('source_id', 'target_id', 'link_type', name=op.f('uq_document_link_source_id'))
    )
    with op.batch_alter_table('document_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_link_source_id'), ['source_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_link_target_id'), ['target_id'], unique=False)

    op.create_table('document_party',
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'], name=op.f('fk_document_party_document_id_document'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_document_party_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id', 'organisation_id', name=op.f('pk_document_party'))
    )
    op.create_table('document_quartier',
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('quartier_code', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'], name=op.f('fk_document_quartier_document_id_document'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['quartier_code'], ['quartier.code'], name=op.f('fk_document_quartier_quartier_code_quartier'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id', 'quartier_code', name=op.f('pk_document_quartier'))
    )
    op.create_table('document_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('mime_type', sa.String(length=120), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('text_status', sa.String(length=10), nullable=False),
    sa.Column('text_reason', sa.String(length=500), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=True),
    sa.Column('origin', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_document_version_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'], name=op.f('fk_document_version_document_id_document'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_version')),
    sa.UniqueConstraint('document_id', 'number', name=op.f('uq_document_version_document_id'))
    )
    with op.batch_alter_table('document_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_version_document_id'), ['document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_version_sha256'), ['sha256'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('document_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_version_sha256'))
        batch_op.drop_index(batch_op.f('ix_document_version_document_id'))

    op.drop_table('document_version')
    op.drop_table('document_quartier')
    op.drop_table('document_party')
    with op.batch_alter_table('document_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_link_target_id'))
        batch_op.drop_index(batch_op.f('ix_document_link_source_id'))

    op.drop_table('document_link')
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_year'))
        batch_op.drop_index(batch_op.f('ix_document_updated_at'))
        batch_op.drop_index(batch_op.f('ix_document_status'))
        batch_op.drop_index('ix_document_region_year_type')
        batch_op.drop_index(batch_op.f('ix_document_region_code'))
        batch_op.drop_index(batch_op.f('ix_document_end_date'))
        batch_op.drop_index(batch_op.f('ix_document_doc_type'))
        batch_op.drop_index(batch_op.f('ix_document_deleted_at'))

    op.drop_table('document')
    with op.batch_alter_table('index_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_index_outbox_object_id'))

    op.drop_table('index_outbox')
