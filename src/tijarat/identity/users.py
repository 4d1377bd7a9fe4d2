"""Dashboard users: who may sign in, with which role, for which business, in which language.

A user is a business owner (role `business`, bound to one wallet customer: `business_id`) or a
payment institution operator (role `operator`, no business). Passwords are kept as Argon2id
hashes (argon2-cffi, the OWASP recommendation). Repeated failures lock the user out for a
while: SIGN_IN_FAILURES_MAX wrong passwords in a row lock sign-in for LOCKOUT_S seconds.
"""

from __future__ import annotations

import functools
import unicodedata
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tijarat.identity.errors import IdentityError
from tijarat.kernel.clock import NS_PER_S, Clock, SystemClock
from tijarat.kernel.errors import DomainError
from tijarat.kernel.ids import new_id

USERNAME_LENGTH_MIN = 3
USERNAME_LENGTH_MAX = 64
PASSWORD_LENGTH_MIN = 10  # NIST SP 800-63B asks for at least 8; we ask a little more
PASSWORD_LENGTH_MAX = 256  # hashing is deliberately costly: bound what we hash
SIGN_IN_FAILURES_MAX = 5
LOCKOUT_S = 15 * 60
LOCALES = ("en", "ur")

metadata = sa.MetaData()
users_table = sa.Table(
    "web_users",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("business_id", sa.Uuid, nullable=True),
    sa.Column("locale", sa.String(8), nullable=False),
    sa.Column("failed_sign_ins", sa.Integer, nullable=False),
    sa.Column("locked_until", sa.BigInteger, nullable=True),
    sa.Column("session_version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("last_sign_in_at", sa.BigInteger, nullable=True),
)


class Role(StrEnum):
    BUSINESS = "business"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class User:
    id: uuid.UUID
    username: str
    role: Role
    business_id: uuid.UUID | None
    locale: str
    session_version: int

    @property
    def is_operator(self) -> bool:
        return self.role is Role.OPERATOR


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2-cffi's defaults: Argon2id, RFC 9106 low-memory profile


@functools.cache
def _decoy_hash() -> str:
    # Verified against when the username is unknown, so a miss costs as much as a wrong
    # password and response times do not tell which usernames exist.
    return _hasher().hash("decoy password that matches nothing")


def normalise_username(username: str) -> str:
    return unicodedata.normalize("NFKC", username).strip().casefold()


def _invalid(message: str, **fields: Any) -> DomainError:
    return DomainError(IdentityError.USER_INVALID, message, status=422, fields=fields)


def _check_password(password: str) -> None:
    if not PASSWORD_LENGTH_MIN <= len(password) <= PASSWORD_LENGTH_MAX:
        raise _invalid(
            f"a password has {PASSWORD_LENGTH_MIN} to {PASSWORD_LENGTH_MAX} characters",
            length=len(password),
        )


def create_user(
    engine: sa.Engine,
    username: str,
    password: str,
    role: Role | str,
    business_id: uuid.UUID | None = None,
    locale: str = "en",
    *,
    clock: Clock | None = None,
) -> User:
    """A new dashboard user (for the CLI and demo seeding); the username must be free."""
    name = normalise_username(username)
    if not USERNAME_LENGTH_MIN <= len(name) <= USERNAME_LENGTH_MAX or not all(
        character.isalnum() or character in "._-@" for character in name
    ):
        raise _invalid(
            f"a username has {USERNAME_LENGTH_MIN} to {USERNAME_LENGTH_MAX} letters, digits"
            " or . _ - @",
            username=username[:USERNAME_LENGTH_MAX],
        )
    _check_password(password)
    try:
        chosen = Role(role)
    except ValueError:
        raise _invalid("role is business or operator", role=str(role)[:16]) from None
    if (chosen is Role.BUSINESS) != (business_id is not None):
        raise _invalid("a business user names its business; an operator has none")
    if locale not in LOCALES:
        raise _invalid("locale is en or ur", locale=locale[:8])
    user_id = new_id()
    try:
        with engine.begin() as connection:
            connection.execute(
                users_table.insert().values(
                    id=user_id,
                    username=name,
                    password_hash=_hasher().hash(password),
                    role=chosen.value,
                    business_id=business_id,
                    locale=locale,
                    failed_sign_ins=0,
                    locked_until=None,
                    session_version=0,
                    created_at=(clock or SystemClock()).now_ns(),
                    last_sign_in_at=None,
                )
            )
    except sa.exc.IntegrityError:
        raise DomainError(
            IdentityError.USER_EXISTS, f"user {name} exists", status=409, fields={"username": name}
        ) from None
    return User(user_id, name, chosen, business_id, locale, 0)


def _user(row: Any) -> User:
    return User(
        id=row.id,
        username=row.username,
        role=Role(row.role),
        business_id=row.business_id,
        locale=row.locale,
        session_version=row.session_version,
    )


def get_user(engine: sa.Engine, user_id: uuid.UUID) -> User | None:
    with engine.connect() as connection:
        row = connection.execute(sa.select(users_table).where(users_table.c.id == user_id)).first()
    return None if row is None else _user(row)


def authenticate(engine: sa.Engine, username: str, password: str, *, clock: Clock) -> User:
    """The user these credentials belong to; one error for a wrong name or password.

    A locked user is refused without checking the password (`sign_in_locked`, with the
    seconds to wait), so guessing during the lockout learns nothing.
    """
    name = normalise_username(username)[:USERNAME_LENGTH_MAX]
    now = clock.now_ns()
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(users_table).where(users_table.c.username == name)
        ).first()
    if row is not None and row.locked_until is not None and row.locked_until > now:
        raise DomainError(
            IdentityError.SIGN_IN_LOCKED,
            "too many failed sign-ins: try again later",
            status=429,
            fields={"retry_after_s": -(-(row.locked_until - now) // NS_PER_S)},
        )
    if not _verify(row.password_hash if row is not None else _decoy_hash(), password):
        if row is not None:
            _count_failure(engine, row.id, now)
        raise DomainError(IdentityError.SIGN_IN_FAILED, "wrong username or password", status=401)
    assert row is not None  # the decoy hash matches no password
    values: dict[str, Any] = {"failed_sign_ins": 0, "locked_until": None, "last_sign_in_at": now}
    if _hasher().check_needs_rehash(row.password_hash):
        values["password_hash"] = _hasher().hash(password)
    with engine.begin() as connection:
        connection.execute(users_table.update().where(users_table.c.id == row.id).values(**values))
    return _user(row)


def _verify(password_hash: str, password: str) -> bool:
    if len(password) > PASSWORD_LENGTH_MAX:
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _count_failure(engine: sa.Engine, user_id: uuid.UUID, now: int) -> None:
    """One more failure; the SIGN_IN_FAILURES_MAX-th in a row locks and restarts the count."""
    table = users_table
    with engine.begin() as connection:
        failures: int = connection.execute(
            table.update()
            .where(table.c.id == user_id)
            .values(failed_sign_ins=table.c.failed_sign_ins + 1)
            .returning(table.c.failed_sign_ins)
        ).scalar_one()
        if failures >= SIGN_IN_FAILURES_MAX:
            connection.execute(
                table.update()
                .where(table.c.id == user_id)
                .values(failed_sign_ins=0, locked_until=now + LOCKOUT_S * NS_PER_S)
            )


def set_locale(engine: sa.Engine, user_id: uuid.UUID, locale: str) -> None:
    if locale not in LOCALES:
        raise _invalid("locale is en or ur", locale=locale[:8])
    with engine.begin() as connection:
        connection.execute(
            users_table.update().where(users_table.c.id == user_id).values(locale=locale)
        )


def set_password(engine: sa.Engine, username: str, password: str) -> None:
    """A new password; sessions signed with the old one stop working and any lockout ends."""
    _check_password(password)
    name = normalise_username(username)
    with engine.begin() as connection:
        updated = connection.execute(
            users_table.update()
            .where(users_table.c.username == name)
            .values(
                password_hash=_hasher().hash(password),
                session_version=users_table.c.session_version + 1,
                failed_sign_ins=0,
                locked_until=None,
            )
        ).rowcount
    if updated == 0:
        raise DomainError(
            IdentityError.USER_NOT_FOUND, f"no user {name}", status=404, fields={"username": name}
        )
