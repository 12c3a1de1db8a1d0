"""zh is the default language: every label the code and templates use has a Chinese text."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"lazy_gettext": None, "_l": None, "gettext": None, "_": None}
METHODS = [("app/**.py", "python"), ("app/templates/**.html", "jinja2")]


def _catalogue(locale: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for po in (ROOT / "app" / "translations" / locale / "LC_MESSAGES").glob("*.po"):
        with po.open("rb") as handle:
            for message in read_po(handle):
                if message.id and message.string:
                    merged[str(message.id)] = str(message.string)
    return merged


def _used_labels() -> set[str]:
    labels: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS
    ):
        if isinstance(message, str) and message:
            labels.add(message)
    from app.models import base
    from app.workflow.service import ACTION_LABELS

    labels.update(ACTION_LABELS.values())
    import app.models as models  # noqa: F401  (every enum is defined by now)

    def enums(cls):  # type: ignore[no-untyped-def]
        for sub in cls.__subclasses__():
            yield sub
            yield from enums(sub)

    for enum_class in enums(base.LabeledEnum):
        labels.update(member.label for member in enum_class)
    return labels


def test_every_label_has_a_chinese_translation():
    zh = _catalogue("zh")
    missing = sorted(label for label in _used_labels() if label not in zh)
    assert not missing, f"labels without a Chinese translation: {missing}"


def test_screens_speak_chinese_by_default(db_session, login_as):
    from tests.factories import make_order

    order = make_order(db_session)
    page = login_as("leader1").get(f"/workorderview/show/{order.id}").get_data(as_text=True)
    assert "处理轨迹" in page and "已受理" in page and "派单" in page
