"""Error codes of the accounts feature."""

from enum import StrEnum


class AccountError(StrEnum):
    """Why an accounts request was refused."""

    EMAIL_TAKEN = "email_taken"
    BAD_CREDENTIALS = "bad_credentials"
    ACCOUNT_LOCKED = "account_locked"
    WEAK_PASSWORD = "weak_password"  # noqa: S105 (an error code, not a password)
    ROLE_NOT_ALLOWED = "role_not_allowed"
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 (an error code, not a token)
