"""The switch's use cases: participants, liquidity, and the alias directory with claims."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Sequence
from urllib.parse import urlsplit

import sqlalchemy as sa

from tijarat.kernel.clock import NS_PER_S, Clock
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import Cnic, Iban, MobileNumber
from tijarat.kernel.money import Money
from tijarat.ledger.model import (
    TRANSFER_SUCCESS,
    Account,
    AccountFlags,
    CreateTransferResult,
    Transfer,
)
from tijarat.ledger.service import LedgerService
from tijarat.switch import store
from tijarat.switch.errors import SwitchError
from tijarat.switch.model import (
    ACCOUNT_CODE_FUNDING,
    ACCOUNT_CODE_ON_US,
    ACCOUNT_CODE_SETTLEMENT,
    CLAIM_RESOLUTION_S_DEFAULT,
    LOOKUPS_PER_MINUTE_DEFAULT,
    NAME_LENGTH_MAX,
    PARTICIPANT_CODE_LENGTH_MAX,
    TRANSFER_CODE_FUND_IN,
    TRANSFER_CODE_FUND_OUT,
    Alias,
    AliasClaim,
    AliasLookup,
    AuditEntry,
    ClaimStatus,
    Participant,
    ParticipantCategory,
    ParticipantStatus,
    same_settlement_account,
)

HUB_LEDGER_DEFAULT = 586  # ledger ids follow ISO 4217 numeric codes: 586 is PKR
HUB_NAMESPACE = uuid.UUID("2b0d3c55-41f4-4c07-9a55-1f1f8d0a7a11")
WINDOW_S = 60
CLAIMS_PAGE_DEFAULT = 100
CLAIMS_PAGE_MAX = 500
SECRET_BYTES = 32


class SwitchService:
    def __init__(
        self,
        engine: sa.Engine,
        ledger: LedgerService,
        clock: Clock,
        *,
        hub_ledger: int = HUB_LEDGER_DEFAULT,
        claim_resolution_s: int = CLAIM_RESOLUTION_S_DEFAULT,
        lookups_per_minute: int = LOOKUPS_PER_MINUTE_DEFAULT,
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.clock = clock
        self.hub_ledger = hub_ledger
        self.claim_resolution_s = claim_resolution_s
        self.lookups_per_minute = lookups_per_minute
        self.funding_account_id = uuid.uuid5(HUB_NAMESPACE, f"funding:{hub_ledger}")
        self.on_us_account_id = uuid.uuid5(HUB_NAMESPACE, f"on-us:{hub_ledger}")
        self._ready = False
        # participant id -> (valid until, (url, secret) or None): endpoint lookups per payment
        self._endpoints: dict[uuid.UUID, tuple[float, tuple[str, str] | None]] = {}
        # The payment path's caches (see participant_cached): participants by code, id and
        # bank code, their credential digests, and net debit caps. Cleared on every change
        # made here; a change made by another process is caught where it matters (the
        # guarded insert of a payment row re-checks status and cap in the database).
        self._by_code: dict[str, Participant] = {}
        self._by_id: dict[uuid.UUID, Participant] = {}
        self._by_bank_code: dict[str, Participant] = {}
        self._credentials: dict[str, str] = {}
        self._caps: dict[uuid.UUID, int | None] = {}
        self._generation = 0  # bumped on every clear: a read begun before is not cached

    # ------------------------------------------------------------------ set-up
    def _ensure_hub(self) -> None:
        """The hub's PKR ledger and its funding account (a mirror of its SBP account)."""
        if self._ready:
            return
        self.ledger.create_ledger(self.hub_ledger, "PKR", "Raast hub (PKR)")
        results = self.ledger.create_accounts(
            [
                Account(self.funding_account_id, self.hub_ledger, ACCOUNT_CODE_FUNDING),
                Account(self.on_us_account_id, self.hub_ledger, ACCOUNT_CODE_ON_US),
            ]
        )
        assert all(r in ("ok", "exists") for r in results), results
        self._ready = True

    def reservation_account(self, payer: Participant, payee: Participant) -> uuid.UUID:
        """Where a payment's reservation credits: the payee's settlement account, or, for an
        on-us payment (payer and payee settle in one account: one participant, or a sponsor
        and a participant it sponsors), the hub's on-us account: the ledger moves nothing
        from an account to itself, and the position must not change."""
        if same_settlement_account(payer, payee):
            self._ensure_hub()
            return self.on_us_account_id
        return payee.settlement_account_id

    # ------------------------------------------------------------------ participants
    def register_participant(
        self,
        code: str,
        name: str,
        category: ParticipantCategory,
        *,
        bank_code: str | None = None,
        sponsor_code: str | None = None,
    ) -> tuple[Participant, str]:
        """Admit a participant; returns it and its API secret, shown this once only.

        Indirect and direct non-settlement participants name a sponsor (a direct settlement
        participant) and get no settlement account: theirs is the sponsor's, and their
        status and net debit cap on record follow the sponsor's (see set_status).
        """
        self._ensure_hub()
        code = code.strip().upper()
        if not (code.isalnum() and 4 <= len(code) <= PARTICIPANT_CODE_LENGTH_MAX):
            raise _invalid("code must be 4 to 11 letters or digits (a BIC works)", code=code)
        if not name.strip() or len(name) > NAME_LENGTH_MAX:
            raise _invalid("name must be 1 to 140 characters", name=name[:40])
        if category.holds_accounts:
            if bank_code is None or not (len(bank_code) == 4 and bank_code.isalpha()):
                raise _invalid(
                    "participants holding accounts need the 4-letter bank code of their IBANs",
                    bank_code=bank_code,
                )
            bank_code = bank_code.upper()
        elif bank_code is not None:
            raise _invalid("a payment initiation provider holds no accounts: no bank code")
        secret = secrets.token_urlsafe(SECRET_BYTES)
        participant_id = uuid.uuid4()
        settlement_id = uuid.uuid5(HUB_NAMESPACE, f"settlement:{participant_id}")
        now = self.clock.now_ns()
        with self.engine.connect() as connection:  # validate before anything is written
            sponsor_id = None
            if category.settles_through_sponsor:
                if sponsor_code is None:
                    raise DomainError(
                        SwitchError.SPONSOR_REQUIRED,
                        f"a {category.value} participant settles through a sponsor: name it",
                        status=422,
                    )
                sponsor = self._participant(connection, sponsor_code)
                if sponsor.category is not ParticipantCategory.DIRECT_SETTLEMENT:
                    raise _invalid("the sponsor must be a direct settlement participant")
                sponsor_id = sponsor.id
                settlement_id = sponsor.settlement_account_id  # no account of its own
            elif sponsor_code is not None:
                raise _invalid(
                    "only indirect and direct non-settlement participants have a sponsor",
                    sponsor_code=sponsor_code,
                )
            existing = connection.execute(
                sa.select(
                    store.participants_table.c.code, store.participants_table.c.bank_code
                ).where(
                    (store.participants_table.c.code == code)
                    | (store.participants_table.c.bank_code == bank_code)
                )
            ).first()
            if existing is not None:
                if existing.code == code:
                    raise DomainError(
                        SwitchError.PARTICIPANT_EXISTS,
                        f"participant {code} exists",
                        status=409,
                        fields={"code": code},
                    )
                raise DomainError(
                    SwitchError.BANK_CODE_TAKEN,
                    f"bank code {bank_code} belongs to {existing.code}",
                    status=409,
                    fields={"bank_code": bank_code},
                )
        # The ledger account first, outside our transaction (the ledger commits on its own):
        # should the insert below then lose a race, an empty account is all that remains.
        # Prefunded: the settlement position can never go below zero.
        if sponsor_id is None:
            results = self.ledger.create_accounts(
                [
                    Account(
                        settlement_id,
                        self.hub_ledger,
                        ACCOUNT_CODE_SETTLEMENT,
                        AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
                        owner_id=participant_id,
                    )
                ]
            )
            assert results[0] == "ok", results
        try:
            with self.engine.begin() as connection:
                status, cap = ParticipantStatus.ACTIVE, None
                if sponsor_id is not None:
                    status, cap = self._sponsor_terms(connection, sponsor_id)
                connection.execute(
                    store.participants_table.insert().values(
                        id=participant_id,
                        code=code,
                        name=name.strip(),
                        category=category.value,
                        bank_code=bank_code,
                        sponsor_id=sponsor_id,
                        status=status.value,
                        settlement_account_id=settlement_id,
                        credential_sha256=_digest(secret),
                        created_at=now,
                    )
                )
                if cap is not None:
                    connection.execute(
                        store.net_debit_caps_table.insert().values(
                            participant_id=participant_id, cap_minor=cap, updated_at=now
                        )
                    )
                participant = self._participant(connection, code)
        except sa.exc.IntegrityError:  # a concurrent registration took the code or bank code
            raise DomainError(
                SwitchError.PARTICIPANT_EXISTS,
                f"participant {code} or bank code {bank_code} was just registered",
                status=409,
            ) from None
        self.forget_cached()
        return participant, secret

    def participants(self) -> Sequence[Participant]:
        with self.engine.connect() as connection:
            return store.select_participants(connection)

    def participant(self, code: str) -> Participant:
        with self.engine.connect() as connection:
            return self._participant(connection, code)

    def participant_by_bank_code(self, bank_code: str) -> Participant:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(store.participants_table).where(
                    store.participants_table.c.bank_code == bank_code.upper()
                )
            ).first()
        if row is None:
            raise DomainError(
                SwitchError.PARTICIPANT_NOT_FOUND,
                f"no participant holds IBANs with bank code {bank_code}",
                status=404,
                fields={"bank_code": bank_code},
            )
        return store.participant_from_row(row)

    def _participant(self, connection: sa.Connection, code: str) -> Participant:
        row = connection.execute(
            sa.select(store.participants_table).where(
                store.participants_table.c.code == code.strip().upper()
            )
        ).first()
        if row is None:
            raise DomainError(
                SwitchError.PARTICIPANT_NOT_FOUND,
                f"no participant {code}",
                status=404,
                fields={"code": code},
            )
        return store.participant_from_row(row)

    def _sponsor_terms(
        self, connection: sa.Connection, sponsor_id: uuid.UUID
    ) -> tuple[ParticipantStatus, int | None]:
        """The status (active, or stopped with its sponsor) and net debit cap a participant
        the sponsor sponsors must carry. The sponsor's row is locked until the caller
        commits: a concurrent change of its status or cap waits, then sees this one."""
        participants, caps = store.participants_table, store.net_debit_caps_table
        sponsor_status = connection.execute(
            sa.select(participants.c.status)
            .where(participants.c.id == sponsor_id)
            .with_for_update()
        ).scalar_one()
        cap = connection.execute(
            sa.select(caps.c.cap_minor).where(caps.c.participant_id == sponsor_id)
        ).scalar()
        active = sponsor_status == ParticipantStatus.ACTIVE.value
        status = ParticipantStatus.ACTIVE if active else ParticipantStatus.SPONSOR_SUSPENDED
        return status, None if cap is None else int(cap)

    def set_status(self, code: str, status: ParticipantStatus) -> Participant:
        """Suspending stops new payments at once: every payment checks the status first, and
        the insert of its row checks it again in the database.

        A sponsor's suspension stops the participants it sponsors the same way: in the same
        transaction their status becomes `sponsor_suspended` (those active in their own
        right), and back to active when the sponsor is. Reactivating a sponsored participant
        whose sponsor is suspended leaves it `sponsor_suspended`.
        """
        if status is ParticipantStatus.SPONSOR_SUSPENDED:
            raise _invalid("a participant is set active or suspended; its sponsor's status follows")
        participants = store.participants_table
        with self.engine.begin() as connection:
            participant = self._participant(connection, code)
            stored: ParticipantStatus = status
            if participant.sponsor_id is not None and status is ParticipantStatus.ACTIVE:
                stored, _ = self._sponsor_terms(connection, participant.sponsor_id)
            connection.execute(
                participants.update()
                .where(participants.c.id == participant.id)
                .values(status=stored.value)
            )
            if participant.sponsor_id is None:
                # Those it sponsors follow, unless suspended in their own right. Its row,
                # updated above, stays locked: a registration under it waits for this.
                active, stopped = ParticipantStatus.ACTIVE, ParticipantStatus.SPONSOR_SUSPENDED
                before, after = (stopped, active) if stored is active else (active, stopped)
                connection.execute(
                    participants.update()
                    .where(
                        (participants.c.sponsor_id == participant.id)
                        & (participants.c.status == before.value)
                    )
                    .values(status=after.value)
                )
            changed = self._participant(connection, code)
        self.forget_cached()
        return changed

    def authenticate(self, code: str, secret: str) -> Participant:
        """The participant whose secret this is; one clear error for every failure.

        Secrets never change once issued, so a known participant is checked against this
        process's cache (no database round trip per request). Its status may be a moment
        old when another process changed it: every use case that depends on the status
        checks it again (a payment re-checks it in the same statement that stores it).
        """
        known = self.authenticate_cached(code, secret)
        if known is not None:
            return known
        key = code.strip().upper()
        expected = self._credentials.get(key)
        participant = self._by_code.get(key)
        if expected is None or participant is None:
            generation = self._generation
            with self.engine.connect() as connection:
                row = connection.execute(
                    sa.select(store.participants_table).where(
                        store.participants_table.c.code == key
                    )
                ).first()
            if row is not None:
                participant = store.participant_from_row(row)
                expected = row.credential_sha256
                if generation == self._generation:
                    self._credentials[key] = row.credential_sha256
                    self._remember(participant)
        # The same work for an unknown code as for a wrong secret.
        matches = hmac.compare_digest(_digest(secret), expected or _digest(""))
        if participant is None or not matches:
            raise DomainError(
                SwitchError.UNAUTHENTICATED, "unknown participant or wrong secret", status=401
            )
        return participant

    def authenticate_cached(self, code: str, secret: str) -> Participant | None:
        """authenticate from this process's cache alone: None when it cannot say (a code
        not seen yet, or a wrong secret), and then authenticate decides. Never blocks, so
        the API may call it without a worker thread."""
        key = code.strip().upper()
        expected = self._credentials.get(key)
        participant = self._by_code.get(key)
        if expected is None or participant is None:
            return None
        if not hmac.compare_digest(_digest(secret), expected):
            return None
        return participant

    # ------------------------------------------------------------------ the payment path's caches
    def participant_cached(self, code: str, *, fresh: bool = False) -> Participant:
        """The participant `code` from this process's cache, read once from the database.

        Everything about a participant is fixed at registration except its status, so the
        cache is exact but for the status, which may be a moment old if another process
        suspended or reactivated it: callers that act on the status either re-read it
        (`fresh=True`) or check it again in the database as they write (Payments does).
        """
        key = code.strip().upper()
        found = None if fresh else self._by_code.get(key)
        if found is None:
            generation = self._generation
            with self.engine.connect() as connection:
                found = self._participant(connection, key)
            if generation == self._generation:
                self._remember(found)
        return found

    def participant_by_id_cached(self, participant_id: uuid.UUID) -> Participant:
        """Like participant_cached, by id (for codes, names and accounts: never the status)."""
        found = self._by_id.get(participant_id)
        if found is None:
            generation = self._generation
            found = self.participant_by_id(participant_id)
            if generation == self._generation:
                self._remember(found)
        return found

    def participant_by_bank_code_cached(
        self, bank_code: str, *, fresh: bool = False
    ) -> Participant:
        """Like participant_cached, by the bank code of its IBANs (misses are not cached)."""
        key = bank_code.upper()
        found = None if fresh else self._by_bank_code.get(key)
        if found is None:
            generation = self._generation
            found = self.participant_by_bank_code(key)
            if generation == self._generation:
                self._remember(found)
        return found

    def net_debit_cap_cached(self, participant_id: uuid.UUID, *, fresh: bool = False) -> int | None:
        """The participant's net debit cap (None: uncapped) from this process's cache.

        A cap changed by another process is caught by the payment's guarded insert, which
        compares the cap it used with the one in the database.
        """
        if not fresh and participant_id in self._caps:
            return self._caps[participant_id]
        generation = self._generation
        caps = store.net_debit_caps_table
        with self.engine.connect() as connection:
            cap = connection.execute(
                sa.select(caps.c.cap_minor).where(caps.c.participant_id == participant_id)
            ).scalar()
        found = None if cap is None else int(cap)
        if generation == self._generation:
            self._caps[participant_id] = found
        return found

    def forget_cached(self) -> None:
        """Drop every cached participant and cap (called on each change made here)."""
        self._generation += 1
        self._by_code.clear()
        self._by_id.clear()
        self._by_bank_code.clear()
        self._credentials.clear()
        self._caps.clear()

    def _remember(self, participant: Participant) -> None:
        self._by_code[participant.code] = participant
        self._by_id[participant.id] = participant
        if participant.bank_code is not None:
            self._by_bank_code[participant.bank_code] = participant

    # ------------------------------------------------------------------ liquidity
    def fund(self, code: str, amount: Money, request_id: uuid.UUID) -> Money:
        """Funds in from the participant's SBP account: its settlement position grows."""
        participant = self._account_holder(code)
        self._move(request_id, self.funding_account_id, participant, amount, TRANSFER_CODE_FUND_IN)
        return self.liquidity(code)

    def defund(self, code: str, amount: Money, request_id: uuid.UUID) -> Money:
        """Funds out to the participant's SBP account; refused beyond what is available."""
        participant = self._account_holder(code)
        self._move(
            request_id,
            participant.settlement_account_id,
            participant,
            amount,
            TRANSFER_CODE_FUND_OUT,
            outgoing=True,
        )
        return self.liquidity(code)

    def _move(
        self,
        request_id: uuid.UUID,
        debit: uuid.UUID,
        participant: Participant,
        amount: Money,
        code: int,
        *,
        outgoing: bool = False,
    ) -> None:
        if amount.currency != "PKR" or amount.amount_minor <= 0:
            raise DomainError(
                SwitchError.AMOUNT_INVALID,
                "liquidity moves in positive PKR amounts",
                status=422,
                fields={"amount_minor": amount.amount_minor, "currency": amount.currency},
            )
        credit = self.funding_account_id if outgoing else participant.settlement_account_id
        (result,) = self.ledger.create_transfers(
            [
                Transfer(
                    request_id,
                    debit,
                    credit,
                    amount.amount_minor,
                    ledger=self.hub_ledger,
                    code=code,
                )
            ]
        )
        if result is CreateTransferResult.EXCEEDS_CREDITS:
            raise DomainError(
                SwitchError.INSUFFICIENT_LIQUIDITY,
                "the participant's settlement position does not cover this",
                status=409,
                fields={"available_minor": self.liquidity(participant.code).amount_minor},
            )
        if result not in TRANSFER_SUCCESS:
            raise DomainError(
                SwitchError.AMOUNT_INVALID,
                f"the ledger refused the movement: {result}",
                status=409,
                fields={"result": str(result)},
            )

    def _account_holder(self, code: str) -> Participant:
        """The participant, if it holds its settlement account. Funds in and out mirror a
        movement on an account at SBP, which a sponsored participant does not have: its
        sponsor funds the account they share, so the instruction must name the sponsor
        (moving them for it would book the sponsor's money under another's name)."""
        participant = self.participant(code)
        if participant.sponsor_id is not None:
            sponsor = self.participant_by_id(participant.sponsor_id)
            raise DomainError(
                SwitchError.PARTICIPANT_INVALID,
                f"{participant.code} settles in its sponsor {sponsor.code}'s settlement"
                f" account and holds none: fund or defund {sponsor.code}",
                status=422,
                fields={"code": participant.code, "sponsor_code": sponsor.code},
            )
        return participant

    def liquidity(self, code: str) -> Money:
        """What the participant may still send: posted credits less debits and reservations.

        For a sponsored participant, its sponsor's: they settle in the same account, and
        what one sends uses up what the others may.
        """
        participant = self.participant(code)
        account = self.ledger.get_account(participant.settlement_account_id)
        return Money(account.balance.available_credit, "PKR")

    def participant_by_id(self, participant_id: uuid.UUID) -> Participant:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(store.participants_table).where(
                    store.participants_table.c.id == participant_id
                )
            ).first()
        if row is None:
            raise DomainError(
                SwitchError.PARTICIPANT_NOT_FOUND, f"no participant {participant_id}", status=404
            )
        return store.participant_from_row(row)

    # ------------------------------------------------------------------ endpoints
    def set_endpoint(self, code: str, url: str | None) -> str | None:
        """Deliver the participant's credit advices and status reports to `url` over HTTP.

        Answers the new signing secret (shown once): each delivery carries
        `X-Tijarat-Signature: hex(HMAC-SHA256(secret, body))`. None removes the endpoint.
        """
        participant = self.participant(code)
        table = store.endpoints_table
        secret = None
        if url is not None:
            if not _endpoint_url(url):
                raise _invalid(
                    "an endpoint is an http(s) URL with a host (and a port, if any, up to"
                    " 65535), in ASCII, of at most 400 characters"
                )
            secret = secrets.token_hex(32)
        with self.engine.begin() as connection:
            connection.execute(table.delete().where(table.c.participant_id == participant.id))
            if url is not None:
                connection.execute(
                    table.insert().values(
                        participant_id=participant.id,
                        url=url,
                        signing_secret=secret,
                        updated_at=self.clock.now_ns(),
                    )
                )
        self._endpoints.clear()
        return secret

    def endpoint(self, participant_id: uuid.UUID) -> tuple[str, str] | None:
        """(url, signing secret) of the participant's endpoint; cached briefly per process."""
        now = time.monotonic()
        cached = self._endpoints.get(participant_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        table = store.endpoints_table
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(table.c.url, table.c.signing_secret).where(
                    table.c.participant_id == participant_id
                )
            ).first()
        found = None if row is None else (row.url, row.signing_secret)
        self._endpoints[participant_id] = (now + ENDPOINT_CACHE_S, found)
        return found

    # ------------------------------------------------------------------ net debit caps
    def set_net_debit_cap(self, code: str, cap_minor: int | None) -> int | None:
        """Cap (or with None, uncap) how far the participant may send more than it receives
        in one settlement day (Pakistan time); payments beyond it are rejected AM23.

        A cap is its settlement account's: a sponsor's covers the payments of those it
        sponsors (see net_debit_position), whose rows carry a copy of it, written in the
        same transaction, so that a payment's guarded insert checks the cap it was held to.
        """
        participant = self.participant(code)
        if participant.sponsor_id is not None:
            sponsor = self.participant_by_id(participant.sponsor_id)
            raise _invalid(
                f"{participant.code} settles in {sponsor.code}'s account: its cap is"
                f" {sponsor.code}'s",
                sponsor_code=sponsor.code,
            )
        if cap_minor is not None and (type(cap_minor) is not int or cap_minor < 0):
            raise _invalid("a net debit cap is a whole number of paisa >= 0", cap=cap_minor)
        table, participants = store.net_debit_caps_table, store.participants_table
        with self.engine.begin() as connection:
            # Locked: a registration under this sponsor waits, then copies this cap.
            connection.execute(
                sa.select(participants.c.id)
                .where(participants.c.id == participant.id)
                .with_for_update()
            )
            sharing = [
                participant.id,
                *connection.execute(
                    sa.select(participants.c.id).where(participants.c.sponsor_id == participant.id)
                ).scalars(),
            ]
            connection.execute(table.delete().where(table.c.participant_id.in_(sharing)))
            if cap_minor is not None:
                now = self.clock.now_ns()
                connection.execute(
                    table.insert(),
                    [
                        {"participant_id": pid, "cap_minor": cap_minor, "updated_at": now}
                        for pid in sharing
                    ],
                )
        self.forget_cached()
        return cap_minor

    def net_debit_room(self, participant: Participant) -> int | None:
        """What the participant may still send under its cap today; None when uncapped.

        Sent counts pending and settled payments (a reservation will likely settle);
        received counts settled ones only. One indexed aggregate per side.
        """
        cap = self.net_debit_cap_cached(participant.id, fresh=True)
        if cap is None:
            return None
        return cap - self.net_debit_position(participant.id)

    def net_debit_position(self, participant_id: uuid.UUID) -> int:
        """Sent less received today (what counts against a cap), in one statement.

        Per settlement account: the payments of every participant settling in the
        participant's account (a sponsor and those it sponsors) count together.
        """
        payments, participants = store.payments_table, store.participants_table
        account = (
            sa.select(participants.c.settlement_account_id)
            .where(participants.c.id == participant_id)
            .scalar_subquery()
        )
        sharing = sa.select(participants.c.id).where(
            participants.c.settlement_account_id == account
        )
        start = settlement_day_start_ns(self.clock.now_ns())
        live = (PENDING_STATUS, SETTLED_STATUS)
        sent = (
            sa.select(sa.func.coalesce(sa.func.sum(payments.c.amount_minor), 0))
            .where(
                payments.c.payer_id.in_(sharing)
                & (payments.c.created_at >= start)
                & payments.c.status.in_(live)
            )
            .scalar_subquery()
        )
        received = (
            sa.select(sa.func.coalesce(sa.func.sum(payments.c.amount_minor), 0))
            .where(
                payments.c.payee_id.in_(sharing)
                & (payments.c.created_at >= start)
                & (payments.c.status == SETTLED_STATUS)
            )
            .scalar_subquery()
        )
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(sent, received)).one()
        return int(row[0]) - int(row[1])

    # ------------------------------------------------------------------ aliases
    def link_alias(self, code: str, number: str, iban: str, cnic: str, account_title: str) -> Alias:
        """Link a mobile number (the Raast ID) to one of the participant's IBANs."""
        mobile, account, identity = MobileNumber.parse(number), Iban.parse(iban), Cnic.parse(cnic)
        title = _title(account_title)
        now = self.clock.now_ns()
        with self.engine.begin() as connection:
            participant = self._active_holder(connection, code, account)
            taken = connection.execute(
                sa.select(store.aliases_table).where(
                    (store.aliases_table.c.number == mobile.e164)
                    | (store.aliases_table.c.cnic == identity.digits)
                )
            ).first()
            if taken is not None:
                if taken.number == mobile.e164:
                    raise DomainError(
                        SwitchError.ALIAS_TAKEN,
                        "this number is already a Raast ID; move it with a claim",
                        status=409,
                        fields={"number": mobile.e164},
                    )
                raise DomainError(
                    SwitchError.CNIC_HAS_ALIAS,
                    "this CNIC already has a Raast ID (one per CNIC)",
                    status=409,
                )
            try:
                connection.execute(
                    store.aliases_table.insert().values(
                        number=mobile.e164,
                        iban=account.compact,
                        participant_id=participant.id,
                        cnic=identity.digits,
                        account_title=title,
                        linked_at=now,
                    )
                )
            except sa.exc.IntegrityError:  # a concurrent link won the race
                raise DomainError(
                    SwitchError.ALIAS_TAKEN, "this number or CNIC was just linked", status=409
                ) from None
            store.insert_audit(
                connection, mobile.e164, "linked", now, participant_id=participant.id
            )
        return self.alias(mobile.e164)

    def alias(self, number: str) -> Alias:
        mobile = MobileNumber.parse(number)
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(store.aliases_table).where(store.aliases_table.c.number == mobile.e164)
            ).first()
        if row is None:
            raise DomainError(
                SwitchError.ALIAS_NOT_FOUND,
                "this number is not a Raast ID",
                status=404,
                fields={"number": mobile.e164},
            )
        return store.alias_from_row(row)

    def lookup_alias(self, code: str, number: str) -> AliasLookup:
        """Resolve a Raast ID for a payment: holder and masked title; rate-limited."""
        mobile = MobileNumber.parse(number)
        now = self.clock.now_ns()
        window = now // (WINDOW_S * NS_PER_S) * (WINDOW_S * NS_PER_S)
        with self.engine.begin() as connection:
            asker = self._participant(connection, code)
            if not asker.active:
                raise _suspended(asker)
            count = store.count_lookup(connection, asker.id, window)
        # The count is committed even when the lookup then fails: misses are what an
        # enumeration attempt produces, so they must use up the allowance too.
        if count > self.lookups_per_minute:
            raise DomainError(
                SwitchError.LOOKUP_RATE_LIMITED,
                f"at most {self.lookups_per_minute} alias lookups a minute per participant",
                status=429,
                fields={"retry_after_s": WINDOW_S - (now - window) // NS_PER_S},
            )
        alias = self.alias(mobile.e164)
        with self.engine.connect() as connection:
            holder = connection.execute(
                sa.select(store.participants_table).where(
                    store.participants_table.c.id == alias.participant_id
                )
            ).one()
        return AliasLookup(
            number=mobile.e164,
            participant_code=holder.code,
            participant_name=holder.name,
            masked_title=alias.masked_title,
            iban=alias.iban.compact if holder.id == asker.id else None,
        )

    def unlink_alias(self, code: str, number: str) -> None:
        mobile = MobileNumber.parse(number)
        now = self.clock.now_ns()
        with self.engine.begin() as connection:
            participant = self._participant(connection, code)
            alias = self._owned_alias(connection, participant, mobile)
            connection.execute(
                store.aliases_table.delete().where(
                    store.aliases_table.c.number == alias.number.e164
                )
            )
            store.insert_audit(
                connection, mobile.e164, "unlinked", now, participant_id=participant.id
            )
            self._close_open_claims(connection, mobile.e164, now, "alias unlinked by its holder")

    # ------------------------------------------------------------------ claims
    def open_claim(self, code: str, number: str, iban: str, account_title: str) -> AliasClaim:
        """A new institution claims a Raast ID held elsewhere, for its customer's IBAN."""
        mobile, account = MobileNumber.parse(number), Iban.parse(iban)
        title = _title(account_title)
        now = self.clock.now_ns()
        with self.engine.begin() as connection:
            claimant = self._active_holder(connection, code, account)
            row = connection.execute(
                sa.select(store.aliases_table).where(store.aliases_table.c.number == mobile.e164)
            ).first()
            if row is None:
                raise DomainError(
                    SwitchError.ALIAS_NOT_FOUND,
                    "nothing to claim: link the number instead",
                    status=404,
                    fields={"number": mobile.e164},
                )
            alias = store.alias_from_row(row)
            if alias.participant_id == claimant.id:
                raise DomainError(
                    SwitchError.CLAIM_SAME_PARTICIPANT,
                    "the number is already held by this participant",
                    status=409,
                )
            if self._open_claim_for(connection, mobile.e164) is not None:
                raise DomainError(
                    SwitchError.CLAIM_OPEN, "a claim for this number is already open", status=409
                )
            claim_id = uuid.uuid4()
            connection.execute(
                store.claims_table.insert().values(
                    id=claim_id,
                    number=mobile.e164,
                    claimant_id=claimant.id,
                    donor_id=alias.participant_id,
                    iban=account.compact,
                    account_title=title,
                    status=ClaimStatus.OPEN.value,
                    created_at=now,
                    resolve_after=now + self.claim_resolution_s * NS_PER_S,
                    resolved_at=None,
                )
            )
            store.insert_audit(
                connection,
                mobile.e164,
                "claim_opened",
                now,
                participant_id=claimant.id,
                claim_id=claim_id,
            )
        return self.claim(claim_id)

    def claim(self, claim_id: uuid.UUID) -> AliasClaim:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(store.claims_table).where(store.claims_table.c.id == claim_id)
            ).first()
        if row is None:
            raise DomainError(SwitchError.CLAIM_NOT_FOUND, f"no claim {claim_id}", status=404)
        return store.claim_from_row(row)

    def confirm_claim(self, donor_code: str, claim_id: uuid.UUID) -> Alias:
        """The customer confirmed at the donor: the alias moves to the claimant now."""
        with self.engine.begin() as connection:
            donor = self._participant(connection, donor_code)
            claim = self._open(connection, claim_id, donor.id, "donor_id")
            self._complete(
                connection, claim, self.clock.now_ns(), "confirmed at the donor", actor_id=donor.id
            )
        return self.alias(claim.number.e164)

    def reject_claim(self, donor_code: str, claim_id: uuid.UUID) -> AliasClaim:
        """The customer refused at the donor: the alias stays where it is."""
        return self._finish(donor_code, claim_id, "donor_id", ClaimStatus.REJECTED)

    def cancel_claim(self, claimant_code: str, claim_id: uuid.UUID) -> AliasClaim:
        return self._finish(claimant_code, claim_id, "claimant_id", ClaimStatus.CANCELLED)

    def complete_due_claims(self) -> int:
        """Complete every open claim whose resolution period has passed (the clock decides)."""
        now = self.clock.now_ns()
        with self.engine.begin() as connection:
            rows = connection.execute(
                sa.select(store.claims_table).where(
                    (store.claims_table.c.status == ClaimStatus.OPEN.value)
                    & (store.claims_table.c.resolve_after <= now)
                )
            ).all()
            for row in rows:
                # No participant acted: the hub completes it, and the trail says so.
                self._complete(
                    connection,
                    store.claim_from_row(row),
                    now,
                    "resolution period passed",
                    actor_id=None,
                )
        return len(rows)

    def claims_of(
        self, code: str, status: ClaimStatus | None = None, limit: int = CLAIMS_PAGE_DEFAULT
    ) -> Sequence[AliasClaim]:
        """The claims `code` made or must answer (as donor), newest first: the donor's inbox."""
        limit = max(1, min(limit, CLAIMS_PAGE_MAX))  # the API refuses what is out of range
        claims = store.claims_table
        with self.engine.connect() as connection:
            participant = self._participant(connection, code)
            query = sa.select(claims).where(
                (claims.c.claimant_id == participant.id) | (claims.c.donor_id == participant.id)
            )
            if status is not None:
                query = query.where(claims.c.status == status.value)
            rows = connection.execute(
                query.order_by(claims.c.created_at.desc(), claims.c.id).limit(limit)
            ).all()
        return [store.claim_from_row(row) for row in rows]

    def claim_of(self, code: str, claim_id: uuid.UUID) -> tuple[AliasClaim, Sequence[AuditEntry]]:
        """A claim and its audit trail, for its claimant or donor only (404 to anyone else)."""
        with self.engine.connect() as connection:
            participant = self._participant(connection, code)
            row = connection.execute(
                sa.select(store.claims_table).where(store.claims_table.c.id == claim_id)
            ).first()
            if row is None or participant.id not in (row.claimant_id, row.donor_id):
                raise DomainError(SwitchError.CLAIM_NOT_FOUND, f"no claim {claim_id}", status=404)
            trail = connection.execute(
                sa.select(store.audit_table)
                .where(
                    (store.audit_table.c.number == row.number)  # the indexed column
                    & (store.audit_table.c.claim_id == claim_id)
                )
                .order_by(store.audit_table.c.seq)
            ).all()
        return store.claim_from_row(row), [store.audit_from_row(entry) for entry in trail]

    def audit(self, number: str) -> Sequence[AuditEntry]:
        mobile = MobileNumber.parse(number)
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(store.audit_table)
                .where(store.audit_table.c.number == mobile.e164)
                .order_by(store.audit_table.c.seq)
            ).all()
        return [store.audit_from_row(row) for row in rows]

    # ------------------------------------------------------------------ helpers
    def _active_holder(self, connection: sa.Connection, code: str, iban: Iban) -> Participant:
        participant = self._participant(connection, code)
        if not participant.active:
            raise _suspended(participant)
        if participant.bank_code != iban.bank_code:
            raise DomainError(
                SwitchError.IBAN_NOT_OURS,
                f"IBAN bank code {iban.bank_code} is not {participant.code}'s",
                status=422,
                fields={
                    "iban_bank_code": iban.bank_code,
                    "participant_bank_code": participant.bank_code,
                },
            )
        return participant

    def _owned_alias(
        self, connection: sa.Connection, participant: Participant, mobile: MobileNumber
    ) -> Alias:
        row = connection.execute(
            sa.select(store.aliases_table).where(store.aliases_table.c.number == mobile.e164)
        ).first()
        if row is None:
            raise DomainError(
                SwitchError.ALIAS_NOT_FOUND, "this number is not a Raast ID", status=404
            )
        alias = store.alias_from_row(row)
        if alias.participant_id != participant.id:
            raise DomainError(
                SwitchError.NOT_ALIAS_OWNER, "only the holding participant may do this", status=403
            )
        return alias

    def _open_claim_for(self, connection: sa.Connection, number: str) -> AliasClaim | None:
        row = connection.execute(
            sa.select(store.claims_table).where(
                (store.claims_table.c.number == number)
                & (store.claims_table.c.status == ClaimStatus.OPEN.value)
            )
        ).first()
        return None if row is None else store.claim_from_row(row)

    def _open(
        self, connection: sa.Connection, claim_id: uuid.UUID, participant_id: uuid.UUID, side: str
    ) -> AliasClaim:
        row = connection.execute(
            sa.select(store.claims_table).where(store.claims_table.c.id == claim_id)
        ).first()
        if row is None or getattr(row, side) != participant_id:
            raise DomainError(SwitchError.CLAIM_NOT_FOUND, f"no claim {claim_id}", status=404)
        claim = store.claim_from_row(row)
        if claim.status is not ClaimStatus.OPEN:
            raise DomainError(
                SwitchError.CLAIM_NOT_OPEN,
                f"the claim is {claim.status.value}",
                status=409,
                fields={"status": claim.status.value},
            )
        return claim

    def _finish(self, code: str, claim_id: uuid.UUID, side: str, status: ClaimStatus) -> AliasClaim:
        now = self.clock.now_ns()
        with self.engine.begin() as connection:
            participant = self._participant(connection, code)
            claim = self._open(connection, claim_id, participant.id, side)
            connection.execute(
                store.claims_table.update()
                .where(store.claims_table.c.id == claim.id)
                .values(status=status.value, resolved_at=now)
            )
            store.insert_audit(
                connection,
                claim.number.e164,
                f"claim_{status.value}",
                now,
                participant_id=participant.id,
                claim_id=claim.id,
            )
        return self.claim(claim_id)

    def _complete(
        self,
        connection: sa.Connection,
        claim: AliasClaim,
        now: int,
        why: str,
        *,
        actor_id: uuid.UUID | None,
    ) -> None:
        connection.execute(
            store.aliases_table.update()
            .where(store.aliases_table.c.number == claim.number.e164)
            .values(
                participant_id=claim.claimant_id,
                iban=claim.iban.compact,
                account_title=claim.account_title,
                linked_at=now,
            )
        )
        connection.execute(
            store.claims_table.update()
            .where(store.claims_table.c.id == claim.id)
            .values(status=ClaimStatus.COMPLETED.value, resolved_at=now)
        )
        store.insert_audit(
            connection,
            claim.number.e164,
            "claim_completed",
            now,
            participant_id=actor_id,  # who acted: the donor, or None when the period passed
            claim_id=claim.id,
            detail=why,
        )

    def _close_open_claims(
        self, connection: sa.Connection, number: str, now: int, why: str
    ) -> None:
        claim = self._open_claim_for(connection, number)
        if claim is not None:
            connection.execute(
                store.claims_table.update()
                .where(store.claims_table.c.id == claim.id)
                .values(status=ClaimStatus.CANCELLED.value, resolved_at=now)
            )
            store.insert_audit(
                connection, number, "claim_cancelled", now, claim_id=claim.id, detail=why
            )


def _digest(secret: str) -> str:
    # API secrets are 256 random bits, not passwords: a plain SHA-256 is the right hash.
    return hashlib.sha256(secret.encode()).hexdigest()


def _title(account_title: str) -> str:
    title = " ".join(account_title.split())
    if not title or len(title) > NAME_LENGTH_MAX:
        raise _invalid("the account title must be 1 to 140 characters")
    return title


def _invalid(message: str, **fields: object) -> DomainError:
    return DomainError(SwitchError.PARTICIPANT_INVALID, message, status=422, fields=dict(fields))


def _suspended(participant: Participant) -> DomainError:
    return DomainError(
        SwitchError.PARTICIPANT_SUSPENDED,
        suspended_message(participant),
        status=403,
        fields={"code": participant.code},
    )


def suspended_message(participant: Participant) -> str:
    if participant.status is ParticipantStatus.SPONSOR_SUSPENDED:
        return f"participant {participant.code}'s sponsor is suspended: it cannot settle"
    return f"participant {participant.code} is suspended"


ENDPOINT_URL_LENGTH_MAX = 400
ENDPOINT_CACHE_S = 5.0  # another process's endpoint change is seen within this
PENDING_STATUS = "PDNG"
SETTLED_STATUS = "ACSC"
PAKISTAN_OFFSET_NS = 5 * 3_600 * NS_PER_S  # Asia/Karachi is UTC+5 all year (no DST)
DAY_NS = 86_400 * NS_PER_S


def settlement_day_start_ns(now_ns: int) -> int:
    """Midnight Pakistan time at or before `now_ns`: the hub's settlement day starts then."""
    return (now_ns + PAKISTAN_OFFSET_NS) // DAY_NS * DAY_NS - PAKISTAN_OFFSET_NS


def _endpoint_url(url: str) -> bool:
    """What the transport can POST to: http(s), a host, a valid port, ASCII (IDNA hosts and
    percent-encoded paths), no whitespace."""
    if len(url) > ENDPOINT_URL_LENGTH_MAX or not url.isascii() or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
        _ = parts.port  # ValueError when not a number or out of range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
