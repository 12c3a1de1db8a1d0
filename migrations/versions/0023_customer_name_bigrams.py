"""customer names found by any two characters at province scale (PostgreSQL): a GIN index of
each name's character pairs

Staff search names by a fragment ("杨秀"): an ILIKE '%…%' that no B-tree serves, and pg_trgm
finds nothing to index in a two-character CJK fragment. ``gridcare_bigrams(text)`` gives the
distinct pairs of adjacent characters of a lower-cased text; the index holds them for every
name, and the list's "contains" filter (app/views/filters.py) adds "the name's pairs include
the fragment's pairs" beside the ILIKE, which still decides. MariaDB and SQLite scan as before.

Revision ID: 0023_customer_name_bigrams
Revises: 0022_sync_staging
"""

from alembic import op

revision = "0023_customer_name_bigrams"
down_revision = "0022_sync_staging"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE FUNCTION gridcare_bigrams(t text) RETURNS text[]
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
            SELECT coalesce(array_agg(DISTINCT substr(lower(t), i, 2)), '{}')
            FROM generate_series(1, length(t) - 1) AS i
        $$""")
    op.execute("CREATE INDEX ix_customer_name_bigrams ON customer USING gin (gridcare_bigrams(name))")
    # The planner's statistics of the indexed expression, so it knows a fragment's pairs are rare.
    op.execute("ANALYZE customer")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_customer_name_bigrams")
    op.execute("DROP FUNCTION gridcare_bigrams(text)")
