"""The screens' ``committed()`` block: commit on success; on a domain error roll back,
flash the message ("danger") and report it; ``OutOfScope`` answers 404 only when asked."""

from __future__ import annotations

from typing import Any

import pytest
from flask import get_flashed_messages
from werkzeug.exceptions import NotFound

from app.extensions import db
from app.views.common import committed
from app.workflow.errors import InvalidInput, OutOfScope


@pytest.fixture()
def calls(app: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    seen: list[str] = []
    with app.test_request_context("/"):
        monkeypatch.setattr(db.session, "commit", lambda: seen.append("commit"))
        monkeypatch.setattr(db.session, "rollback", lambda: seen.append("rollback"))
        yield seen


def test_success_commits_and_flashes_nothing(calls: list[str]) -> None:
    with committed(out_of_scope_404=True) as outcome:
        pass
    assert outcome.ok and outcome.error is None
    assert calls == ["commit"]
    assert get_flashed_messages(with_categories=True) == []


def test_a_domain_error_rolls_back_and_is_flashed(calls: list[str]) -> None:
    with committed() as outcome:
        raise InvalidInput("content is required", field="content")
    assert not outcome.ok and outcome.error is not None and outcome.error.field == "content"
    assert calls == ["rollback"]
    assert get_flashed_messages(with_categories=True) == [("danger", "content is required")]


def test_flash_error_false_keeps_the_message_for_the_form(calls: list[str]) -> None:
    with committed(flash_error=False) as outcome:
        raise InvalidInput("enter a valid phone number", field="phone")
    assert outcome.error is not None and outcome.error.message == "enter a valid phone number"
    assert calls == ["rollback"]
    assert get_flashed_messages() == []


def test_out_of_scope_is_a_404_when_asked(calls: list[str]) -> None:
    with pytest.raises(NotFound):
        with committed(out_of_scope_404=True):
            raise OutOfScope("not yours")
    assert calls == ["rollback"]
    assert get_flashed_messages() == []


def test_out_of_scope_is_otherwise_flashed_like_any_domain_error(calls: list[str]) -> None:
    with committed() as outcome:
        raise OutOfScope("not yours")
    assert isinstance(outcome.error, OutOfScope)
    assert get_flashed_messages(with_categories=True) == [("danger", "not yours")]


def test_other_exceptions_pass_through_uncommitted(calls: list[str]) -> None:
    with pytest.raises(KeyError):
        with committed():
            raise KeyError("bug")
    assert calls == []
