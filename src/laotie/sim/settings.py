"""The simulated world's parameters: every behavioural assumption is one of these.

Each is documented where it is declared and listed in docs/simulation.md. Times are in
hours or days of the world's clock; money in yuan (converted to minor units where it
meets the services); probabilities are per event named.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class ShopKind(StrEnum):
    """What a shop really is, which no buyer sees beforehand."""

    HONEST = "honest"  # good goods, shipped in time, returns approved
    LOW_QUALITY = "low_quality"  # honest but poor goods, slow to ship and answer
    DISHONEST = "dishonest"  # misdescribed goods; rejects returns when it can
    BRUSHING = "brushing"  # middling goods, and a ring placing fake five-star orders


@dataclass(frozen=True)
class KindTraits:
    """How a kind of shop behaves, beyond its hidden quality."""

    quality: tuple[float, float]  # its goods' quality (1 to 5) is drawn uniformly in here
    on_time: float  # share of parcels shipped within the 48 h deadline
    approves: float  # share of return requests the seller approves (else rejects)
    misdescribes: float  # share of its bad goods that were misdescribed (not_as_described)


TRAITS: dict[ShopKind, KindTraits] = {
    ShopKind.HONEST: KindTraits((4.3, 4.9), 0.95, 1.0, 0.0),
    ShopKind.LOW_QUALITY: KindTraits((3.5, 4.1), 0.75, 0.9, 0.1),
    ShopKind.DISHONEST: KindTraits((3.3, 3.9), 0.85, 0.3, 0.8),
    ShopKind.BRUSHING: KindTraits((3.6, 4.2), 0.9, 0.8, 0.2),
}


@dataclass(frozen=True)
class WorldSettings:
    """The shape of a world and how its people behave."""

    # ---- shape
    shops: int = 60
    buyers: int = 2_000
    days: int = 60
    seed: int = 7
    policy: str = "trust"  # the feed's policy: "trust" (value × g(trust)) or "gmv"
    # The shares of shop kinds, in ShopKind order; brushing takes what is left.
    kind_shares: tuple[float, float, float] = (0.6, 0.15, 0.15)

    # ---- the experiment's knobs
    churn: float = 1.0  # churn sensitivity: multiplies every churn probability below
    trust_matters: bool = True  # False: the null control, trust never changes behaviour

    # ---- shops and their shows
    price_median_yuan: float = 80.0  # a shop's one product: lognormal price around this
    price_sigma: float = 0.6
    show_share: float = 0.85  # the chance a shop goes live on a given day
    show_start_hours: tuple[int, int] = (10, 21)  # a shop's daily start hour, drawn once
    show_length_hours: tuple[float, float] = (2.0, 4.0)  # a show's length, drawn per show

    # ---- buyers
    opens_per_day: float = 0.25  # feed opens a day of an active buyer (a Poisson process)
    activity_sigma: float = 0.5  # lognormal spread of buyers' opens around that mean
    open_hours: tuple[int, int] = (10, 24)  # buyers open the feed between these hours
    feed_size: int = 10  # rooms a feed shows
    # The feed re-reads the live rooms when its picture is older than this (the server's
    # LAOTIE_FEED_BOARD_SECONDS). A server shares one picture among the many requests of
    # 10 s; the world's feed opens come a minute or two apart in simulated time, so it
    # shares one among those of 10 minutes instead, against shows of 2 to 4 hours.
    feed_board_seconds: float = 600.0
    # The feed's impressions are written a batch every this many seconds: the server's
    # writer writes every 2 s, which here would be a write for every feed opened; the
    # board above reads the counts no more often than this anyway.
    impressions_every_s: float = 600.0
    taste_shape: float = 0.7  # gamma shape of category tastes (small: narrow tastes)
    budget_median_yuan: float = 120.0  # what a buyer will pay for one order, lognormal
    budget_sigma: float = 0.5
    # City tiers by the demo's six cities (sim.catalogue.DEMO_ADDRESSES), and how often
    # buyers live in each; a tier multiplies the budget.
    city_weights: tuple[float, ...] = (0.15, 0.2, 0.2, 0.15, 0.2, 0.1)
    tier_budget: dict[str, float] = field(
        default_factory=lambda: {
            "first": 1.5,
            "new_first": 1.25,
            "second": 1.0,
            "third_and_below": 0.75,
        }
    )

    # ---- in the room
    click_base: float = 0.35  # chance of entering the feed's first room at full taste
    click_decay: float = 0.8  # each place lower in the feed multiplies that chance
    follow_click_boost: float = 2.0  # a followed room is this much likelier to be entered
    watch_median_s: float = 240.0  # a visit's watch time: lognormal around this
    watch_sigma: float = 1.0
    buy_base: float = 0.12  # chance a visit buys, at full taste, trust and budget
    pay_share: float = 0.95  # orders paid (the rest lapse unpaid)
    pay_minutes: tuple[float, float] = (1.0, 5.0)  # from the order to its payment

    # ---- experiences
    bad_at_five: float = 0.02  # chance goods of quality 5 disappoint
    bad_per_star: float = 0.15  # each star of quality below 5 adds this chance
    ship_on_time_hours: tuple[float, float] = (2.0, 40.0)
    ship_late_hours: tuple[float, float] = (49.0, 96.0)
    transit_days: tuple[float, float] = (1.0, 4.0)
    confirm_share: float = 0.6  # buyers who confirm receipt (others are auto-confirmed)
    return_when_bad: float = 0.7  # bad goods: the buyer asks for a return
    return_when_good: float = 0.02  # good goods returned anyway (no reason)
    escalate_share: float = 0.6  # a rejected return taken to an operator
    operator_for_buyer: float = 0.9  # an operator rules for a buyer whose goods were bad
    review_share: float = 0.4  # good experiences reviewed
    review_share_bad: float = 0.6  # bad experiences reviewed
    seller_answer_hours: tuple[float, float] = (2.0, 40.0)
    return_after_hours: tuple[float, float] = (1.0, 24.0)  # from arrival to the request
    review_after_days: tuple[float, float] = (0.2, 3.0)  # from arrival to the review
    escalate_after_hours: tuple[float, float] = (2.0, 48.0)  # from the rejection
    ruling_after_hours: tuple[float, float] = (12.0, 48.0)  # from the dispute to the ruling
    operator_for_good_goods: float = 0.1  # a dispute over good goods won by the buyer
    good_stars_lift: float = 0.4  # good goods are starred this far above the quality
    buy_moment: tuple[float, float] = (0.2, 0.9)  # where in its visit an order is placed

    # ---- trust, loyalty and churn
    trust_prior: float = 0.6  # a buyer's trust in a shop it never bought from
    trust_gain: float = 0.3  # a good experience closes this share of the gap to 1
    trust_loss: float = 0.5  # a bad experience takes this share of the trust away
    trust_rejected: float = 0.5  # a rejected return takes this share more
    follow_after_good: float = 0.3  # a good experience makes the buyer follow the anchor
    notification_open: float = 0.25  # a follower enters on its go-live notification
    notification_minutes: float = 15.0  # mean delay from go-live to that entry
    churn_after_bad: float = 0.08  # a bad experience makes the buyer leave the platform
    # The null control follows and churns at the rates a world with this share of bad
    # experiences would, whatever the buyer's own experience.
    null_bad_share: float = 0.15

    # ---- brushing rings and the operators
    ring_size: int = 12
    ring_distinct_share: float = 0.2  # ring accounts with fingerprints of their own
    burst_share: float = 0.3  # a brushing shop's show with a burst of fake orders
    burst_accounts: int = 4  # ring accounts in a burst, each buying burst_orders times
    burst_orders: int = 2
    flag_review_days: float = 2.0  # an operator confirms a brushing flag this long after

    def as_dict(self) -> dict[str, Any]:
        """The settings as JSON values, for the summary."""
        return {key: list(v) if isinstance(v, tuple) else v for key, v in asdict(self).items()}

    def kind_counts(self) -> dict[ShopKind, int]:
        """How many shops of each kind: the shares of `shops`, by largest remainder."""
        shares = [*self.kind_shares, max(0.0, 1 - sum(self.kind_shares))]
        exact = [share * self.shops for share in shares]
        counts = [int(x) for x in exact]
        order = sorted(range(len(exact)), key=lambda i: (counts[i] - exact[i], i))
        for i in order[: self.shops - sum(counts)]:
            counts[i] += 1
        return dict(zip(ShopKind, counts, strict=True))
