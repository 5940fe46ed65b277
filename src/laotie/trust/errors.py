"""Error codes of the trust feature, and the HTTP status each answers."""

from enum import StrEnum

from laotie.core.errors import status_table


class TrustError(StrEnum):
    """Why a review, a follow-up or a reply was refused."""

    NOT_DELIVERED = "not_delivered"
    LINE_REFUNDED = "line_refunded"
    ALREADY_REVIEWED = "already_reviewed"
    REVIEW_WINDOW_CLOSED = "review_window_closed"
    FOLLOW_UP_GIVEN = "follow_up_given"
    REPLY_GIVEN = "reply_given"


STATUS = status_table(
    TrustError,
    {
        TrustError.NOT_DELIVERED: 409,
        TrustError.LINE_REFUNDED: 409,
        TrustError.ALREADY_REVIEWED: 409,
        TrustError.REVIEW_WINDOW_CLOSED: 409,
        TrustError.FOLLOW_UP_GIVEN: 409,
        TrustError.REPLY_GIVEN: 409,
    },
)
