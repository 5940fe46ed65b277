"""Error codes of affiliate selling, and the HTTP status each answers."""

from enum import StrEnum

from laotie.core.errors import status_table


class AffiliateError(StrEnum):
    """Why an affiliate request was refused."""

    COMMISSION_OUT_OF_BOUNDS = "commission_out_of_bounds"
    OFFER_DATES_INVALID = "offer_dates_invalid"
    OFFER_CLOSED = "offer_closed"
    OWN_OFFER = "own_offer"
    REPUTATION_TOO_LOW = "reputation_too_low"
    APPLICATION_EXISTS = "application_exists"
    APPLICATION_NOT_PENDING = "application_not_pending"
    NOT_APPROVED = "not_approved"


STATUS = status_table(
    AffiliateError,
    {
        AffiliateError.COMMISSION_OUT_OF_BOUNDS: 422,
        AffiliateError.OFFER_DATES_INVALID: 422,
        AffiliateError.OFFER_CLOSED: 409,
        AffiliateError.OWN_OFFER: 403,
        AffiliateError.REPUTATION_TOO_LOW: 409,
        AffiliateError.APPLICATION_EXISTS: 409,
        AffiliateError.APPLICATION_NOT_PENDING: 409,
        AffiliateError.NOT_APPROVED: 409,
    },
)
