"""Error codes of the trust feature, and the HTTP status each answers."""

from enum import StrEnum

from laotie.core.errors import status_table


class TrustError(StrEnum):
    """Why a review, a reply, a report, an appeal or a decision on one was refused."""

    NOT_DELIVERED = "not_delivered"
    LINE_REFUNDED = "line_refunded"
    ALREADY_REVIEWED = "already_reviewed"
    REVIEW_WINDOW_CLOSED = "review_window_closed"
    FOLLOW_UP_GIVEN = "follow_up_given"
    REPLY_GIVEN = "reply_given"
    ALREADY_REPORTED = "already_reported"
    REPORT_DECIDED = "report_decided"
    ALREADY_APPEALED = "already_appealed"
    APPEAL_WINDOW_CLOSED = "appeal_window_closed"
    APPEAL_DECIDED = "appeal_decided"
    FLAG_DECIDED = "flag_decided"


STATUS = status_table(
    TrustError,
    {
        TrustError.NOT_DELIVERED: 409,
        TrustError.LINE_REFUNDED: 409,
        TrustError.ALREADY_REVIEWED: 409,
        TrustError.REVIEW_WINDOW_CLOSED: 409,
        TrustError.FOLLOW_UP_GIVEN: 409,
        TrustError.REPLY_GIVEN: 409,
        TrustError.ALREADY_REPORTED: 409,
        TrustError.REPORT_DECIDED: 409,
        TrustError.ALREADY_APPEALED: 409,
        TrustError.APPEAL_WINDOW_CLOSED: 409,
        TrustError.APPEAL_DECIDED: 409,
        TrustError.FLAG_DECIDED: 409,
    },
)
