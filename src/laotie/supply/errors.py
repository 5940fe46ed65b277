"""Error codes of the supply feature, and the HTTP status each answers."""

from enum import StrEnum

from laotie.core.errors import status_table


class SupplyError(StrEnum):
    """Why a supply request was refused."""

    FACTORY_NAME_TAKEN = "factory_name_taken"
    PRICE_TIERS_INVALID = "price_tiers_invalid"
    FACTORY_UNVERIFIED = "factory_unverified"
    PARTNERSHIP_EXISTS = "partnership_exists"
    PARTNERSHIP_NOT_REQUESTED = "partnership_not_requested"


STATUS = status_table(
    SupplyError,
    {
        SupplyError.FACTORY_NAME_TAKEN: 409,
        SupplyError.PRICE_TIERS_INVALID: 422,
        SupplyError.FACTORY_UNVERIFIED: 409,
        SupplyError.PARTNERSHIP_EXISTS: 409,
        SupplyError.PARTNERSHIP_NOT_REQUESTED: 409,
    },
)
