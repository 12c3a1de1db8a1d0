"""A Flask-AppBuilder data interface that loads the related records a list shows in one
extra query per relationship (never one per row), whatever the page size."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy.orm import RelationshipProperty, selectinload


class EagerInterface(SQLAInterface):
    def __init__(self, obj: Any, eager: Sequence[str] = (), session: Any = None) -> None:
        super().__init__(obj, session=session)
        self.eager = tuple(eager)

    def query(  # type: ignore[override]
        self,
        filters: Optional[Any] = None,
        order_column: str = "",
        order_direction: str = "",
        page: Optional[int] = None,
        page_size: Optional[int] = None,
        select_columns: Optional[list[str]] = None,
        outer_default_load: bool = False,
    ) -> Tuple[int, list[Any]]:
        query = self.session.query(self.obj)
        count = self.query_count(query, filters, select_columns)
        query = self.apply_all(query, filters, order_column, order_direction, page, page_size,
                               select_columns, outer_default_load)
        if self.eager:
            query = query.options(*(selectinload(getattr(self.obj, name)) for name in self.eager))
        return count, query.all()


def relationships_in(model: Any, columns: Sequence[str]) -> list[str]:
    mapper = model.__mapper__
    return [c for c in columns if isinstance(mapper.attrs.get(c), RelationshipProperty)]
