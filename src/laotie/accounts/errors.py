"""Error codes of the accounts feature, and the HTTP status each answers."""

from enum import StrEnum

from laotie.core.errors import status_table


class AccountError(StrEnum):
    """Why an accounts request was refused."""

    EMAIL_TAKEN = "email_taken"
    BAD_CREDENTIALS = "bad_credentials"
    ACCOUNT_LOCKED = "account_locked"
    WEAK_PASSWORD = "weak_password"  # noqa: S105 (an error code, not a password)
    ROLE_NOT_ALLOWED = "role_not_allowed"
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 (an error code, not a token)


STATUS = status_table(
    AccountError,
    {
        AccountError.EMAIL_TAKEN: 409,
        AccountError.BAD_CREDENTIALS: 401,
        AccountError.ACCOUNT_LOCKED: 423,
        AccountError.WEAK_PASSWORD: 422,
        AccountError.ROLE_NOT_ALLOWED: 403,
        AccountError.TOKEN_EXPIRED: 401,
    },
)
