from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from config.exceptions import ConflictError, DomainError

from .adapters.base import REQUIRED_CREDENTIALS, BrokerError, SessionHealth, adapter_for, credentials_errors
from .models import Broker, BrokerAccount


def _check_credentials(broker: str, credentials: dict | None, *, existing: bool) -> None:
    required = REQUIRED_CREDENTIALS.get(broker, ())
    if credentials is None:
        if required and not existing:
            raise DomainError({"credentials": [f"{broker} accounts need credentials: {', '.join(required)}."]})
        return
    errors = credentials_errors(broker, credentials)
    if "credentials" in errors:  # too large: one message for the whole object
        raise DomainError({"credentials": errors["credentials"]})
    if errors:
        raise DomainError({"credentials": errors})
    missing = [key for key in required if not credentials.get(key)]
    if missing:
        raise DomainError({"credentials": {key: ["This field is required."] for key in missing}})


def broker_account_create(
    *, owner, client_id: str, broker: str, name: str = "", credentials=None, algo_id: str = ""
) -> BrokerAccount:
    """Create an account for `owner`; a duplicate client_id for the same owner is a 400 on client_id."""
    _check_credentials(broker, credentials, existing=False)
    if BrokerAccount.objects.filter(owner=owner, client_id=client_id).exists():
        raise DomainError("You already have a broker account with this client_id.", field="client_id")
    account = BrokerAccount(owner=owner, client_id=client_id, broker=broker, name=name, algo_id=algo_id)
    account.credentials = credentials
    account.save()
    return account


def broker_account_update(*, account: BrokerAccount, **changes) -> BrokerAccount:
    credentials = changes.pop("credentials", None)
    broker = changes.get("broker", account.broker)
    if broker != account.broker and credentials is None and REQUIRED_CREDENTIALS.get(broker):
        _check_credentials(broker, None, existing=False)
    _check_credentials(broker, credentials, existing=True)
    new_client_id = changes.get("client_id", account.client_id)
    if new_client_id != account.client_id:
        raise DomainError("client_id cannot change; create a new account instead.", field="client_id")
    for key, value in changes.items():
        setattr(account, key, value)
    if credentials is not None:
        account.credentials = credentials
        account.session_token_encrypted = ""
        account.session_expires_at = None
        account.last_error = ""  # new credentials: a refused login may be tried again
    account.save()
    return account


def broker_account_delete(*, account: BrokerAccount) -> None:
    if account.allocations.exists():
        raise ConflictError("This account is allocated to strategies; remove those allocations first.")
    try:
        with transaction.atomic():
            account.delete()
    except ProtectedError:
        raise ConflictError("This account has trading history (orders or positions) and cannot be deleted.") from None


def broker_account_check(*, account: BrokerAccount) -> SessionHealth:
    """Ask the broker whether the account's session works; records the outcome on the account."""
    try:
        health = adapter_for(account).check_session()
    except BrokerError as exc:
        health = SessionHealth(ok=False, detail=exc.message)
    if health.ok:
        account.last_ok_at = timezone.now()
        account.last_error = ""
        if account.status == BrokerAccount.Status.ERROR:
            account.status = BrokerAccount.Status.ACTIVE
    else:
        account.last_error = health.detail
    account.save(update_fields=["last_ok_at", "last_error", "status", "updated_at"])
    return health


def zerodha_login_url(*, account: BrokerAccount, state: str) -> str:
    """Kite's login page for this account's app; Kite hands `state` back to the callback (redirect_params)."""
    from urllib.parse import urlencode

    from .adapters import zerodha

    if account.broker != Broker.ZERODHA:
        raise DomainError("Only Zerodha accounts connect through Kite's login.", field="broker")
    if not account.has_credentials:
        raise DomainError("Store this account's api_key and api_secret first.", field="credentials")
    return f"{zerodha.login_url(account)}&{urlencode({'redirect_params': urlencode({'state': state})})}"


def zerodha_connect(*, account: BrokerAccount, request_token: str) -> BrokerAccount:
    """Finish "Connect Zerodha": trade Kite's request_token for today's access token (stored encrypted, valid
    until 06:00 IST tomorrow). Raises BrokerError with Kite's message when Kite refuses the token."""
    from .adapters.zerodha import ZerodhaBroker

    if account.broker != Broker.ZERODHA:
        raise DomainError("Only Zerodha accounts connect through Kite's login.", field="broker")
    if not request_token:
        raise DomainError("Kite sent no request_token: the login did not finish.", field="request_token")
    return ZerodhaBroker(account).connect(request_token)


def broker_sessions_login(*, accounts=None, retry_refused: bool = True) -> dict[str, SessionHealth]:
    """The morning routine the platform does by itself: every active Angel One account with credentials and no
    session lasting through today's trading logs in from its TOTP secret (Zerodha needs the trader: Connect Zerodha). Returns each
    account's outcome by client id; a refusal is recorded on the account (last_error), never raised.
    `retry_refused=False` leaves alone an account whose last login was refused: Angel One locks an account
    after repeated wrong PINs, so only the morning run and a credentials change try again."""
    from . import sessions

    if accounts is None:
        accounts = BrokerAccount.objects.filter(broker=Broker.ANGELONE, status=BrokerAccount.Status.ACTIVE).exclude(
            credentials_encrypted=""
        )
    outcomes = {}
    for account in accounts:
        if account.broker != Broker.ANGELONE or sessions.session_lasts_today(account, now=timezone.now()):
            continue  # a session that would end during today's trading is renewed now, not mid-day
        if not retry_refused and account.last_error.startswith("session: Angel One login failed"):
            continue
        try:
            adapter_for(account).login()
            outcomes[account.client_id] = SessionHealth(ok=True, detail="logged in from the TOTP secret")
        except BrokerError as exc:
            outcomes[account.client_id] = SessionHealth(ok=False, detail=exc.message)
    return outcomes
