"""Dashboard users on SQLite and PostgreSQL: Argon2id hashes, one error for bad credentials,
lockout after repeated failures, password changes ending old sessions."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher, extract_parameters

from tijarat.bootstrap import Container
from tijarat.identity import users
from tijarat.identity.users import (
    LOCKOUT_S,
    SIGN_IN_FAILURES_MAX,
    Role,
    authenticate,
    create_user,
    get_user,
    set_locale,
    set_password,
    users_table,
)
from tijarat.kernel.clock import ManualClock
from tijarat.kernel.errors import DomainError

PASSWORD = "correct horse battery"


@pytest.fixture
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that sign in many times use a fast Argon2id; the first test uses the real one."""
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(users, "_hasher", lambda: fast)


def test_a_user_signs_in_with_the_password_stored_as_argon2id(
    container: Container, clock: ManualClock
) -> None:
    business = uuid.uuid4()
    made = create_user(container.engine, " Skardu ", PASSWORD, "business", business, "ur")
    assert (made.username, made.role, made.business_id, made.locale) == (
        "skardu",
        Role.BUSINESS,
        business,
        "ur",
    )
    with container.engine.connect() as connection:
        stored = connection.execute(sa.select(users_table.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    parameters = extract_parameters(stored)  # OWASP: at least 19 MiB and 2 passes
    assert parameters.memory_cost >= 19 * 1024
    assert parameters.time_cost >= 2
    assert PASSWORD not in stored
    assert authenticate(container.engine, "SKARDU", PASSWORD, clock=clock) == made
    assert get_user(container.engine, made.id) == made
    set_locale(container.engine, made.id, "en")
    found = get_user(container.engine, made.id)
    assert found is not None
    assert found.locale == "en"
    with pytest.raises(DomainError):
        set_locale(container.engine, made.id, "de")


@pytest.mark.usefixtures("cheap_hashing")
def test_bad_credentials_fail_alike_and_repeated_failures_lock_out(
    container: Container, clock: ManualClock
) -> None:
    create_user(container.engine, "operator", PASSWORD, "operator")
    for username, password in (("operator", "wrong password!"), ("nobody", PASSWORD)):
        with pytest.raises(DomainError) as refused:
            authenticate(container.engine, username, password, clock=clock)
        assert (refused.value.code, refused.value.status) == ("web_sign_in_failed", 401)
    # One failure so far; three more make four, one short of a lockout, and a success then
    # starts the count again.
    for _ in range(SIGN_IN_FAILURES_MAX - 2):
        with pytest.raises(DomainError):
            authenticate(container.engine, "operator", "wrong password!", clock=clock)
    authenticate(container.engine, "operator", PASSWORD, clock=clock)
    for _ in range(SIGN_IN_FAILURES_MAX):
        with pytest.raises(DomainError):
            authenticate(container.engine, "operator", "wrong password!", clock=clock)
    with pytest.raises(DomainError) as locked:  # even the right password, while locked
        authenticate(container.engine, "operator", PASSWORD, clock=clock)
    assert (locked.value.code, locked.value.status) == ("web_sign_in_locked", 429)
    assert locked.value.fields["retry_after_s"] == LOCKOUT_S
    clock.advance(timedelta(seconds=LOCKOUT_S))
    assert authenticate(container.engine, "operator", PASSWORD, clock=clock).role is Role.OPERATOR


@pytest.mark.usefixtures("cheap_hashing")
def test_bad_users_are_refused_and_a_name_is_taken_once(container: Container) -> None:
    engine = container.engine
    cases = [
        ("ab", PASSWORD, "operator", None, "en"),  # name too short
        ("has space", PASSWORD, "operator", None, "en"),
        ("operator", "short", "operator", None, "en"),  # password too short
        ("operator", PASSWORD, "admin", None, "en"),  # no such role
        ("operator", PASSWORD, "operator", uuid.uuid4(), "en"),  # operators have no business
        ("owner", PASSWORD, "business", None, "en"),  # a business user needs its business
        ("operator", PASSWORD, "operator", None, "fr"),
    ]
    for username, password, role, business, locale in cases:
        with pytest.raises(DomainError) as refused:
            create_user(engine, username, password, role, business, locale)
        assert (refused.value.code, refused.value.status) == ("web_user_invalid", 422)
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(users_table)).scalar() == 0
    create_user(container.engine, "Skardu", PASSWORD, "operator")
    with pytest.raises(DomainError) as taken:
        create_user(container.engine, "skardu", PASSWORD, "operator")
    assert (taken.value.code, taken.value.status) == ("web_user_exists", 409)


@pytest.mark.usefixtures("cheap_hashing")
def test_a_new_password_ends_old_sessions_and_lockouts(
    container: Container, clock: ManualClock
) -> None:
    made = create_user(container.engine, "operator", PASSWORD, "operator")
    for _ in range(SIGN_IN_FAILURES_MAX):
        with pytest.raises(DomainError):
            authenticate(container.engine, "operator", "wrong password!", clock=clock)
    set_password(container.engine, "operator", "a brand new password")
    again = authenticate(container.engine, "operator", "a brand new password", clock=clock)
    assert again.session_version == made.session_version + 1
    with pytest.raises(DomainError):
        authenticate(container.engine, "operator", PASSWORD, clock=clock)
    with pytest.raises(DomainError) as missing:
        set_password(container.engine, "nobody", "a brand new password")
    assert missing.value.code == "web_user_not_found"
