"""Settings screens for administrators: the return-visit questionnaire."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l

from app.models.workorder import CallbackQuestion
from app.views.common import COMMON_LABELS, GridCareModelView


class CallbackQuestionView(GridCareModelView):
    datamodel = SQLAInterface(CallbackQuestion)
    list_columns = ["code", "text", "sort_order", "active"]
    label_columns = {**COMMON_LABELS, "text": _l("Question"), "sort_order": _l("Order")}


def register(appbuilder: Any) -> None:
    appbuilder.add_view(CallbackQuestionView, "Return-visit questions", icon="fa-phone",
                        category="Settings", label=_l("Return-visit questions"),
                        category_label=_l("Settings"))
