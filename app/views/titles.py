"""Page titles in the viewer's language.

Flask-AppBuilder titles a list without ``list_title`` "List " + the model's name ("List Bill")
— English on a Chinese screen.  Every such view gets its menu entry's label as list title,
and its add / edit / detail titles made from it, translated when the page is rendered."""

from __future__ import annotations

from typing import Any, Iterator

from flask_babel import LazyString, gettext

_DEFAULTS = {"list_title": "List ", "add_title": "Add ", "edit_title": "Edit ", "show_title": "Show "}
_FORMS = {"add_title": "New: %(name)s", "edit_title": "Edit: %(name)s", "show_title": "Details: %(name)s"}


def _items(items: list[Any]) -> Iterator[Any]:
    for item in items:
        yield item
        yield from _items(item.childs or [])


def _label(label: Any) -> LazyString:
    return LazyString(lambda: gettext(str(label)))


def _titled(form: str, label: Any) -> LazyString:
    return LazyString(lambda: gettext(form, name=gettext(str(label))))


def localise_titles(appbuilder: Any) -> None:
    """Give every menu-listed view still carrying a default English title its menu label."""
    for item in _items(appbuilder.menu.get_list()):
        view = item.baseview
        if view is None or not hasattr(view, "list_title"):
            continue
        for attribute, prefix in _DEFAULTS.items():
            current = getattr(view, attribute, None)
            if isinstance(current, str) and current.startswith(prefix):
                value = _label(item.label) if attribute == "list_title" else _titled(_FORMS[attribute], item.label)
                setattr(view, attribute, value)
