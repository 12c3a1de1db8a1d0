"""Password hashes of database accounts (app/security/passwords.py): Argon2id at OWASP's
minimum in production, older hashes verified and replaced at the next sign-in, and every way
a password is set (an administrator's new account, a reset, a seed) writing the same hash."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from app.security import passwords
from tests.conftest import csrf_from

PASSWORD = "Strong#Pass2026"


@pytest.fixture
def accounts(app):
    """The test's accounts (``pw_…``) are removed after it."""
    yield
    from app.extensions import appbuilder, db

    User = appbuilder.sm.user_model
    with app.app_context():
        for user in db.session.scalars(select(User).where(User.username.like("pw_%"))):
            db.session.delete(user)
        db.session.commit()


@pytest.fixture
def argon2(app, monkeypatch, accounts):
    """The suite's app switched to production's method for one test."""
    monkeypatch.setitem(app.config, "FAB_PASSWORD_HASH_METHOD", "argon2id")
    return app


def _account(app, username: str, stored: str) -> int:
    from app.extensions import appbuilder, db

    with app.app_context():
        sm = appbuilder.sm
        user = sm.find_user(username=username) or sm.add_user(
            username, "测", "试", f"{username}@gridcare.example", sm.find_role("DistrictManager"), password=PASSWORD)
        user.password = stored
        user.active = True
        db.session.commit()
        return user.id


def _stored(app, user_id: int) -> str:
    from app.extensions import appbuilder, db

    with app.app_context():
        db.session.expire_all()
        return appbuilder.sm.get_user_by_id(user_id).password


def _login(client, username: str, password: str):
    return client.post("/api/v1/security/login", json={"username": username, "password": password,
                                                        "provider": "db"})


def test_owasp_parameters_and_nothing_weaker():
    stored = passwords.hash_password({}, PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert passwords.verify_password({}, stored, PASSWORD)
    assert not passwords.verify_password({}, stored, PASSWORD + "x")
    assert not passwords.verify_password({}, "not a hash", PASSWORD)
    assert not passwords.verify_password({}, "", PASSWORD)
    for weak in ({"PASSWORD_ARGON2_MEMORY_KIB": 8192}, {"PASSWORD_ARGON2_TIME_COST": 1},
                 {"PASSWORD_ARGON2_PARALLELISM": 0}):
        with pytest.raises(ValueError, match="OWASP"):
            passwords.check_settings(weak)
    stronger = {"PASSWORD_ARGON2_MEMORY_KIB": 47104, "PASSWORD_ARGON2_TIME_COST": 2}
    assert passwords.hash_password(stronger, PASSWORD).startswith("$argon2id$v=19$m=47104,t=2,p=1$")
    assert passwords.needs_rehash(stronger, stored)  # raised parameters re-hash too


def test_an_application_with_argon2_below_owasp_does_not_start():
    from app import create_app

    with pytest.raises(ValueError, match="OWASP"):
        create_app(SQLALCHEMY_DATABASE_URI="sqlite://", SCHEDULER_ENABLED=False, PASSWORD_ARGON2_MEMORY_KIB=4096)


def test_a_scrypt_account_signs_in_and_is_rehashed_with_argon2id(argon2, client):
    user_id = _account(argon2, "pw_scrypt", generate_password_hash(PASSWORD, method="scrypt"))
    assert _login(client, "pw_scrypt", PASSWORD + "!").status_code == 401
    assert _stored(argon2, user_id).startswith("scrypt:")  # a wrong password changes nothing
    response = _login(client, "pw_scrypt", PASSWORD)
    assert response.status_code == 200, response.get_json()
    stored = _stored(argon2, user_id)
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert _login(client, "pw_scrypt", PASSWORD).status_code == 200
    assert _stored(argon2, user_id) == stored  # not re-hashed again
    assert _login(client, "pw_scrypt", "Wrong#Pass2026").status_code == 401


def test_wrong_passwords_count_and_unknown_or_inactive_accounts_are_refused(argon2, client):
    from app.extensions import appbuilder, db

    user_id = _account(argon2, "pw_counts", passwords.hash_password(argon2.config, PASSWORD))
    assert _login(client, "pw_counts", "Wrong#Pass2026").status_code == 401
    assert _login(client, "nobody_here", PASSWORD).status_code == 401
    with argon2.app_context():
        user = appbuilder.sm.get_user_by_id(user_id)
        assert user.fail_login_count == 1
        user.active = False
        db.session.commit()
    assert _login(client, "pw_counts", PASSWORD).status_code == 401
    with argon2.app_context():
        user = appbuilder.sm.get_user_by_id(user_id)
        user.active = True
        db.session.commit()
    assert _login(client, "pw_counts", PASSWORD).status_code == 200
    with argon2.app_context():
        assert appbuilder.sm.get_user_by_id(user_id).fail_login_count == 0


def test_an_account_stored_with_an_empty_password_cannot_be_entered_with_nul_bytes(app, client, accounts,
                                                                                     caplog):
    """pbkdf2 and scrypt hash "" and "\\x00" alike: an account that an older version stored
    with an empty password must not open to one or more NUL bytes, by any way of signing in
    (the REST login's schema refuses them first; the sign-in method itself refuses them too)."""
    import logging

    from app.extensions import appbuilder

    for method in ("pbkdf2:sha256", "scrypt"):
        name = f"pw_nul_{method.split(':')[0]}"
        user_id = _account(app, name, generate_password_hash("", method=method))
        assert passwords.verify_password(app.config, _stored(app, user_id), "\x00")  # the hazard
        response = _login(client, name, "\x00")
        assert response.status_code == 400 and "password" in response.get_json()["message"]
        with app.test_request_context(), caplog.at_level(logging.INFO, logger="app.security.manager"):
            for password in ("\x00", "\x00\x00\x00", ""):
                assert appbuilder.sm.auth_user_db(name, password) is None, (method, password)
        assert sum(name in record.getMessage() for record in caplog.records) == 3  # each refusal logged
        assert _stored(app, user_id).startswith(method.split(":")[0])  # nothing re-hashed
        caplog.clear()


def test_new_accounts_resets_and_seeds_are_hashed_with_argon2id(argon2):
    from app.extensions import appbuilder, db
    from app.ops.scale import _shared_password_hash

    with argon2.app_context():
        sm = appbuilder.sm
        user = sm.add_user("pw_new", "新", "号", "pw_new@gridcare.example", sm.find_role("DistrictManager"),
                           password=PASSWORD)
        assert user.password.startswith("$argon2id$")
        sm.reset_password(user.id, "Another#Pass2026")
        db.session.expire_all()
        stored = sm.get_user_by_id(user.id).password
        assert stored.startswith("$argon2id$") and passwords.verify_password(argon2.config, stored, "Another#Pass2026")
        directory_user = sm.add_user("pw_dir", "目", "录", "pw_dir@gridcare.example", sm.find_role("DistrictManager"))
        assert directory_user.password.startswith("$argon2id$")  # a random secret, never empty
        assert _shared_password_hash().startswith("$argon2id$")


def test_an_administrator_creates_an_account_in_the_browser_form_with_argon2id(login_as, app, monkeypatch,
                                                                                   accounts):
    from app.extensions import appbuilder

    admin = login_as("admin")  # signed in before the switch: the admin's own hash stays as it is
    form = admin.get("/users/add")
    assert form.status_code == 200
    with app.app_context():
        role_id = appbuilder.sm.find_role("DistrictManager").id
    monkeypatch.setitem(app.config, "FAB_PASSWORD_HASH_METHOD", "argon2id")
    response = admin.post("/users/add", data={
        "csrf_token": csrf_from(form.get_data(as_text=True)), "first_name": "表", "last_name": "单",
        "username": "pw_form", "email": "pw_form@gridcare.example", "active": "y", "roles": str(role_id),
        "password": PASSWORD, "conf_password": PASSWORD}, follow_redirects=False)
    # A refused form is answered 200 with the form again; a saved account redirects (302), and
    # the account must then exist with an Argon2id hash (below).
    assert response.status_code == 302, response.get_data(as_text=True)[-800:]
    with app.app_context():
        stored = appbuilder.sm.find_user(username="pw_form").password
    assert stored.startswith("$argon2id$") and passwords.verify_password(app.config, stored, PASSWORD)
