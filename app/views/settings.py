"""Settings screens for administrators: the return-visit questionnaire."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l

from app.models.workorder import CallbackQuestion, QuestionKind
from app.views.common import COMMON_LABELS, GridCareModelView, label_formatter


class CallbackQuestionView(GridCareModelView):
    """The questionnaire: each question answered as its kind says (是/否, 1–5, one of the
    options, or text)."""

    datamodel = SQLAInterface(CallbackQuestion)
    list_columns = ["code", "text", "kind", "sort_order", "active"]
    add_columns = edit_columns = ["code", "text", "kind", "options", "sort_order", "active"]
    form_choices = {"kind": QuestionKind.choices()}
    formatters_columns = {"kind": label_formatter(QuestionKind)}
    description_columns = {"options": _l("For a choice question: the answers, one a line or separated by commas")}
    label_columns = {**COMMON_LABELS, "text": _l("Question"), "sort_order": _l("Order"),
                     "kind": _l("Answer kind"), "options": _l("Options")}

    def pre_add(self, item: CallbackQuestion) -> None:
        _check(item)

    def pre_update(self, item: CallbackQuestion) -> None:
        _check(item)


def _check(item: CallbackQuestion) -> None:
    from flask_babel import gettext

    if item.kind == QuestionKind.CHOICE.value and len(item.option_list()) < 2:
        raise ValueError(gettext("A choice question needs at least two options."))


def register(appbuilder: Any) -> None:
    appbuilder.add_view(CallbackQuestionView, "Return-visit questions", icon="fa-phone",
                        category="Settings", label=_l("Return-visit questions"),
                        category_label=_l("Settings"))
