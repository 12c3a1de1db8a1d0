"""The list screens' filters: Flask-AppBuilder's, with "contains" served by an index where
one exists (PostgreSQL: migration 0023_customer_name_bigrams).

A "contains" of two characters or more on an indexed column adds "the column's character pairs
include the fragment's pairs" (``gridcare_bigrams``) beside FAB's ILIKE, which still decides
what matches; the pairs only let PostgreSQL find the candidates from a GIN index instead of
reading every row. The filter keeps FAB's place in each column's filter list, so URL
arguments (``_flt_2_name=…``) mean what they meant.
"""

from __future__ import annotations

from typing import Any

from flask_appbuilder.models.sqla.filters import FilterContains, SQLAFilterConverter
from sqlalchemy import func

# (table, column) → served by a bigram GIN index on PostgreSQL.
BIGRAM_INDEXED = {("customer", "name")}
_WILDCARDS = set("%_\\")


class ContainsByPairs(FilterContains):
    def apply(self, query: Any, value: Any) -> Any:
        query = super().apply(query, value)
        text = value if isinstance(value, str) else ""
        if ((getattr(self.model, "__tablename__", None), self.column_name) in BIGRAM_INDEXED
                and len(text) >= 2 and not _WILDCARDS & set(text)
                and query.session.get_bind().dialect.name == "postgresql"):
            column = getattr(self.model, self.column_name)
            query = query.filter(func.gridcare_bigrams(column).op("@>")(func.gridcare_bigrams(text)))
        return query


class GridCareFilterConverter(SQLAFilterConverter):
    conversion_table = tuple(
        (test, [ContainsByPairs if flt is FilterContains else flt for flt in filters])
        for test, filters in SQLAFilterConverter.conversion_table)
