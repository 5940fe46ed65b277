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
    NOT_PARTNER = "not_partner"
    CATEGORY_NOT_MADE = "category_not_made"
    MOQ_BELOW_FACTORY = "moq_below_factory"
    DEADLINE_INVALID = "deadline_invalid"
    CAP_BELOW_MOQ = "cap_below_moq"
    TOO_MANY_VARIANTS = "too_many_variants"
    DEPOSIT_TOO_LOW = "deposit_too_low"
    CAMPAIGN_CLOSED = "campaign_closed"
    CAMPAIGN_FULL = "campaign_full"
    VARIANT_UNKNOWN = "variant_unknown"
    COMMITMENT_ENDED = "commitment_ended"
    RUN_STEP_INVALID = "run_step_invalid"
    BALANCE_OVERDUE = "balance_overdue"
    CAMPAIGN_NOT_CONFIRMED = "campaign_not_confirmed"
    RUN_SHIPPED = "run_shipped"
    RERUN_NOT_READY = "rerun_not_ready"
    BALANCE_ORDERED = "balance_ordered"
    SHOW_ENDED = "show_ended"


STATUS = status_table(
    SupplyError,
    {
        SupplyError.FACTORY_NAME_TAKEN: 409,
        SupplyError.PRICE_TIERS_INVALID: 422,
        SupplyError.FACTORY_UNVERIFIED: 409,
        SupplyError.PARTNERSHIP_EXISTS: 409,
        SupplyError.PARTNERSHIP_NOT_REQUESTED: 409,
        SupplyError.NOT_PARTNER: 409,
        SupplyError.CATEGORY_NOT_MADE: 422,
        SupplyError.MOQ_BELOW_FACTORY: 422,
        SupplyError.DEADLINE_INVALID: 422,
        SupplyError.CAP_BELOW_MOQ: 422,
        SupplyError.TOO_MANY_VARIANTS: 422,
        SupplyError.DEPOSIT_TOO_LOW: 409,
        SupplyError.CAMPAIGN_CLOSED: 409,
        SupplyError.CAMPAIGN_FULL: 409,
        SupplyError.VARIANT_UNKNOWN: 422,
        SupplyError.COMMITMENT_ENDED: 409,
        SupplyError.RUN_STEP_INVALID: 409,
        SupplyError.BALANCE_OVERDUE: 409,
        SupplyError.CAMPAIGN_NOT_CONFIRMED: 409,
        SupplyError.RUN_SHIPPED: 409,
        SupplyError.RERUN_NOT_READY: 409,
        SupplyError.BALANCE_ORDERED: 409,
        SupplyError.SHOW_ENDED: 409,
    },
)
