"""``Idempotency-Key`` on the mutating staff APIs: a request repeated with the same key by the
same user gets the first answer again and changes nothing.

The phone's offline outbox replays actions after reconnecting, and a reply lost on a weak
link makes it send the same action again; without the key a resolution could be applied
twice. The key is claimed (a committed row) before the action runs, so a concurrent repeat
finds the claim instead of running the action a second time; the answer is stored once known.
A 5xx answer releases the claim so the client may retry."""

from __future__ import annotations

import functools
import re
from typing import Any, Callable

from flask import Response, request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models.mobile import IdempotentRequest

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def _answer(status: int, message: str, **extra: Any) -> Response:
    import json

    return Response(json.dumps({"message": message, **extra}), status=status, mimetype="application/json")


def idempotent(f: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an API method (inside ``protect()``, outside ``safe``) to honour ``Idempotency-Key``."""

    @functools.wraps(f)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return f(self, *args, **kwargs)
        if not _KEY.match(key):
            return _answer(400, "Idempotency-Key must be 8 to 128 letters, digits or . _ : -", field=HEADER)
        from app.extensions import appbuilder

        actor = appbuilder.sm.current_actor()
        user_id = actor.user_id if actor is not None else None
        if user_id is None:  # no user to scope the key to: the endpoint answers as without it
            return f(self, *args, **kwargs)
        claim = IdempotentRequest(user_id=user_id, key=key, method=request.method, path=request.path[:255])
        db.session.add(claim)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            first = db.session.scalar(select(IdempotentRequest).where(
                IdempotentRequest.user_id == user_id, IdempotentRequest.key == key))
            if first is None:  # released meanwhile by a failed first attempt
                return _answer(409, "a request with this Idempotency-Key failed just now; retry it")
            if (first.method, first.path) != (request.method, request.path[:255]):
                return _answer(422, "this Idempotency-Key was already used for another request", field=HEADER)
            if first.status is None:
                return _answer(409, "a request with this Idempotency-Key is still being answered; retry later")
            replay = Response(first.response or "", status=first.status, mimetype="application/json")
            replay.headers["Idempotent-Replayed"] = "true"
            db.session.rollback()
            return replay
        claim_id = claim.id
        response = f(self, *args, **kwargs)
        db.session.rollback()  # whatever the endpoint left uncommitted is not ours to keep
        if response.status_code >= 500:
            db.session.execute(delete(IdempotentRequest).where(IdempotentRequest.id == claim_id))
        else:
            db.session.execute(update(IdempotentRequest).where(IdempotentRequest.id == claim_id).values(
                status=response.status_code, response=response.get_data(as_text=True)))
        db.session.commit()
        return response

    return wrapper
