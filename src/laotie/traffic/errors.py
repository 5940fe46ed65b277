"""Error codes of the traffic feature (fan groups, fan prices, bought reach), and their statuses."""

from enum import StrEnum

from laotie.core.errors import status_table


class TrafficError(StrEnum):
    """Why a fan-group, fan-price or promotion request was refused."""

    NOT_A_FAN = "not_a_fan"
    FAN_LEVEL_TOO_LOW = "fan_level_too_low"
    OWN_FAN_GROUP = "own_fan_group"
    NO_FAN_PRICE = "no_fan_price"
    FAN_PRICE_NOT_BELOW_REGULAR = "fan_price_not_below_regular"
    PUBLIC_TRAFFIC_BARRED = "public_traffic_barred"  # no bought reach for such a shop
    ALREADY_PROMOTED = "already_promoted"  # one running promotion a session


STATUS = status_table(
    TrafficError,
    {
        TrafficError.NOT_A_FAN: 403,
        TrafficError.FAN_LEVEL_TOO_LOW: 403,
        TrafficError.OWN_FAN_GROUP: 422,
        TrafficError.NO_FAN_PRICE: 404,
        TrafficError.FAN_PRICE_NOT_BELOW_REGULAR: 422,
        TrafficError.PUBLIC_TRAFFIC_BARRED: 403,
        TrafficError.ALREADY_PROMOTED: 409,
    },
)
