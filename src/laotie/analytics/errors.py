"""Error codes of analytics, and their statuses."""

from enum import StrEnum

from laotie.core.errors import status_table


class AnalyticsError(StrEnum):
    """Why an analytics request was refused."""

    PERIOD_INVALID = "period_invalid"  # ends before it starts, or is too long


STATUS = status_table(AnalyticsError, {AnalyticsError.PERIOD_INVALID: 422})
