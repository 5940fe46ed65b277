"""Customer lifetime value: how many more times a shop's customers will buy, and for how much.

Two models of Fader, Hardie and Lee, fitted by maximum likelihood to customers' histories:

- BG/NBD ("Counting Your Customers the Easy Way", Marketing Science 24(2), 2005): while
  active, a customer buys at a Poisson rate drawn from a gamma(r, alpha) across customers,
  and after each purchase drops out for good with a probability drawn from a beta(a, b).
  A customer's history enters only through x (repeat transactions), t_x (the time of the
  last one) and age, the paper's T (time since the first purchase), all counted from the
  first purchase in one time unit.
- Gamma-Gamma ("RFM and CLV: Using Iso-value Curves", Journal of Marketing Research 42(4),
  2005): the value of each transaction is gamma(p, nu), with nu gamma(q, gamma) across
  customers, independent of how often they buy; fitted on the average spend of the
  repeat transactions.

Why these: a shop sees when its customers bought, never when they stopped caring; the
BG/NBD reads "not bought lately" as a chance of having left, so a customer who bought
often and then fell silent is worth less than one who bought as often and recently. Both
are pure functions of the histories; the fitted models are small frozen values.

docs/analytics.md gives the formulas and the conventions of `summarize`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from math import ceil
from typing import Literal

import numpy as np
import numpy.typing as npt

# scipy is imported where a model is fitted or evaluated, not with the module: it costs
# seconds, and every server worker imports this module whether or not anyone asks for it.

Floats = npt.NDArray[np.float64]
Unit = Literal["days", "weeks"]

UNIT_DAYS: dict[Unit, int] = {"days": 1, "weeks": 7}
DAYS_PER_MONTH = 365.25 / 12
# Below these the likelihood is too flat to pin the parameters down: fits to simulated
# customers of known parameters scatter over orders of magnitude, and their values would
# look like estimates without being any. Above them a fit is possible, not yet good.
MIN_CUSTOMERS = 50
MIN_REPEATERS = 20
# The search runs on log-parameters within +-LOG_BOUND; a parameter that ends on the bound
# ran off towards 0 or infinity, which means the data do not identify it.
LOG_BOUND = 12.0


@dataclass(frozen=True, slots=True)
class History:
    """One customer's history as of the end of calibration, in one time unit."""

    x: int  # repeat transactions: transactions after the first
    t_x: float  # time from the first transaction to the last
    age: float  # time from the first transaction to the end of calibration (the paper's T)
    spend: float  # mean value of the repeat transactions; 0 without any


@dataclass(frozen=True, slots=True)
class BgNbd:
    """A fitted BG/NBD: purchase rates gamma(r, alpha), dropout beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float


@dataclass(frozen=True, slots=True)
class GammaGamma:
    """A fitted Gamma-Gamma spend model: spend gamma(p, nu), nu gamma(q, gamma)."""

    p: float
    q: float
    gamma: float
    log_likelihood: float


def summarize(
    purchases: Iterable[tuple[str, date, float]], end: date, unit: Unit = "weeks"
) -> dict[str, History]:
    """Return the history of each customer who bought on or before `end`.

    Purchases of one customer on one day are one transaction of their summed value. Times
    are whole days between purchase days divided by the unit's days, and age runs to the
    day `end` itself: the conventions of the CDNOW summaries of the papers. Purchases
    after `end` are left out; a datetime counts on its own date.
    """
    spent: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for customer_id, at, value in purchases:
        day = at.date() if isinstance(at, datetime) else at
        if day <= end:
            spent[customer_id][day] += value
    span = UNIT_DAYS[unit]
    histories = {}
    for customer_id, by_day in spent.items():
        days = sorted(by_day)
        repeats = [by_day[day] for day in days[1:]]
        histories[customer_id] = History(
            x=len(repeats),
            t_x=(days[-1] - days[0]).days / span,
            age=(end - days[0]).days / span,
            spend=sum(repeats) / len(repeats) if repeats else 0.0,
        )
    return histories


def columns(histories: Iterable[History]) -> tuple[Floats, Floats, Floats, Floats]:
    """Return the histories' x, t_x, age and spend as arrays, for the models."""
    rows = [(h.x, h.t_x, h.age, h.spend) for h in histories]
    table = np.array(rows, dtype=np.float64).reshape(len(rows), 4)
    return table[:, 0], table[:, 1], table[:, 2], table[:, 3]


def fit_bgnbd(x: npt.ArrayLike, t_x: npt.ArrayLike, age: npt.ArrayLike) -> BgNbd:
    """Fit the BG/NBD to customers' histories by maximum likelihood."""
    xs, recency, ages = _history_arrays(x, t_x, age)
    repeaters = int(np.count_nonzero(xs))
    if len(xs) < MIN_CUSTOMERS or repeaters < MIN_REPEATERS:
        raise ValueError(
            f"the BG/NBD needs at least {MIN_CUSTOMERS} customers, {MIN_REPEATERS} of them "
            f"with a repeat transaction; got {len(xs)} and {repeaters}"
        )

    def cost(log_params: Floats) -> float:
        r, alpha, a, b = np.exp(log_params)
        return -float(np.mean(_bgnbd_log_likelihoods(r, alpha, a, b, xs, recency, ages)))

    (r, alpha, a, b), mean = _maximise(cost, 4, "BG/NBD")
    return BgNbd(r, alpha, a, b, mean * len(xs))


def p_alive(model: BgNbd, x: npt.ArrayLike, t_x: npt.ArrayLike, age: npt.ArrayLike) -> Floats:
    """Return each customer's probability of still being active at `age`."""
    xs, recency, ages = _history_arrays(x, t_x, age)
    return _p_alive(model, xs, recency, ages)


def expected_purchases(
    model: BgNbd, t: npt.ArrayLike, x: npt.ArrayLike, t_x: npt.ArrayLike, age: npt.ArrayLike
) -> Floats:
    """Return each customer's expected transactions in the next `t` periods (eq. 10)."""
    from scipy.special import hyp2f1

    xs, recency, ages = _history_arrays(x, t_x, age)
    ahead = np.asarray(t, dtype=np.float64)
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    shape = r + xs
    later = alpha + ages + ahead
    # The paper's eq. 10 is this bracket over 1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x),
    # and that denominator is the reciprocal of P(alive).
    tail = ((alpha + ages) / later) ** shape * hyp2f1(shape, b + xs, a + b + xs - 1, ahead / later)
    active = (a + b + xs - 1) / (a - 1) * (1 - tail)
    return np.asarray(active * _p_alive(model, xs, recency, ages), dtype=np.float64)


def unconditional_purchases(model: BgNbd, t: npt.ArrayLike) -> Floats:
    """Return E[X(t)], a new customer's expected repeat transactions in `t` periods (eq. 7)."""
    from scipy.special import hyp2f1

    ahead = np.asarray(t, dtype=np.float64)
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    later = alpha + ahead
    bracket = 1 - (alpha / later) ** r * hyp2f1(r, b, a + b - 1, ahead / later)
    return np.asarray((a + b - 1) / (a - 1) * bracket, dtype=np.float64)


def fit_gamma_gamma(x: npt.ArrayLike, spend: npt.ArrayLike) -> GammaGamma:
    """Fit the Gamma-Gamma spend model by maximum likelihood on the customers with x >= 1."""
    xs, spends = _spends(x, spend)
    repeat = xs > 0
    xs, spends = xs[repeat], spends[repeat]
    if len(xs) < MIN_REPEATERS:
        raise ValueError(
            f"the Gamma-Gamma model needs at least {MIN_REPEATERS} customers with a repeat "
            f"transaction; got {len(xs)}"
        )
    if np.any(spends <= 0):
        raise ValueError("a customer with repeat transactions has a spend of 0 or less")

    def cost(log_params: Floats) -> float:
        p, q, gamma = np.exp(log_params)
        return -float(np.mean(_gamma_gamma_log_likelihoods(p, q, gamma, xs, spends)))

    (p, q, gamma), mean = _maximise(cost, 3, "Gamma-Gamma")
    return GammaGamma(p, q, gamma, mean * len(xs))


def expected_spend(model: GammaGamma, x: npt.ArrayLike, spend: npt.ArrayLike) -> Floats:
    """Return each customer's expected spend per transaction given their repeat spends."""
    if model.q <= 1:
        # The population's mean spend is p gamma / (q - 1): without it the model says that
        # a customer's spend has no mean, and no value can be built on it.
        raise ValueError(f"q = {model.q:.3f} <= 1: the fitted spend has no mean")
    xs, spends = _spends(x, spend)
    p, q, gamma = model.p, model.q, model.gamma
    # A weighted mean of the population's mean p gamma / (q - 1) and the customer's own
    # mean spend, the customer's weight growing with their transactions.
    return np.asarray(p * (gamma + xs * spends) / (p * xs + q - 1), dtype=np.float64)


def customer_values(
    bgnbd: BgNbd,
    gamma_gamma: GammaGamma,
    histories: Sequence[History],
    months: float,
    *,
    unit: Unit = "weeks",
    monthly_discount: float = 0.0,
) -> Floats:
    """Return each customer's expected spend over the next `months`, discounted monthly.

    The horizon is cut into months (a month is 365.25 / 12 days, the last one cut at the
    horizon); the expected purchases of each month are valued at the customer's expected
    spend and discounted as if paid at the month's end. Money keeps the unit of the spends.
    """
    if months < 0 or monthly_discount < 0:
        raise ValueError("the horizon and the discount rate cannot be negative")
    x, t_x, age, mean_spend = columns(histories)
    periods_per_month = DAYS_PER_MONTH / UNIT_DAYS[unit]
    month_ends = np.minimum(np.arange(1, ceil(months) + 1, dtype=np.float64), months)
    so_far = [np.zeros_like(x)] + [
        expected_purchases(bgnbd, end * periods_per_month, x, t_x, age) for end in month_ends
    ]
    in_month = np.diff(np.vstack(so_far), axis=0)
    discounted = (1 + monthly_discount) ** -month_ends @ in_month
    return np.asarray(discounted * expected_spend(gamma_gamma, x, mean_spend), dtype=np.float64)


def shop_value_minor(
    bgnbd: BgNbd,
    gamma_gamma: GammaGamma,
    histories: Sequence[History],
    months: float = 12,
    *,
    unit: Unit = "weeks",
    monthly_discount: float = 0.0,
) -> int:
    """Return the expected value of a shop's customers over the next `months`, in minor units.

    The histories' spends must be in minor units; the sum is rounded once, at the end.
    """
    values = customer_values(
        bgnbd, gamma_gamma, histories, months, unit=unit, monthly_discount=monthly_discount
    )
    return round(float(values.sum()))


def _bgnbd_log_likelihoods(
    r: float, alpha: float, a: float, b: float, x: Floats, t_x: Floats, age: Floats
) -> Floats:
    """Return each customer's log-likelihood under the BG/NBD (eq. 6)."""
    from scipy.special import betaln, gammaln

    repeat = x > 0
    # Either still active at `age`, or dropped out just after the last transaction, which
    # only a customer with a repeat transaction can have done. For x = 0 that term is
    # computed at x = 1 (b + x - 1 could be negative) and then discarded.
    still_active = betaln(a, b + x) - (r + x) * np.log(alpha + age)
    x_or_1 = np.where(repeat, x, 1.0)
    dropped_out = betaln(a + 1, b + x_or_1 - 1) - (r + x) * np.log(alpha + t_x)
    either = np.logaddexp(still_active, np.where(repeat, dropped_out, -np.inf))
    purchases = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    return np.asarray(purchases - betaln(a, b) + either, dtype=np.float64)


def _p_alive(model: BgNbd, x: Floats, t_x: Floats, age: Floats) -> Floats:
    """Return P(alive) of validated histories: 1 / (1 + [x > 0] odds of having dropped out)."""
    from scipy.special import expit

    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    x_or_1 = np.where(x > 0, x, 1.0)
    log_odds = np.log(a / (b + x_or_1 - 1)) + (r + x) * np.log((alpha + age) / (alpha + t_x))
    # Without a repeat there was no chance to drop out yet: the customer is alive.
    return np.asarray(np.where(x > 0, expit(-log_odds), 1.0), dtype=np.float64)


def _gamma_gamma_log_likelihoods(
    p: float, q: float, gamma: float, x: Floats, spend: Floats
) -> Floats:
    """Return each customer's log-density of their mean spend under the Gamma-Gamma."""
    from scipy.special import gammaln

    px = p * x
    return np.asarray(
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(spend)
        + px * np.log(x)
        - (px + q) * np.log(gamma + x * spend),
        dtype=np.float64,
    )


def _maximise(cost: Callable[[Floats], float], size: int, name: str) -> tuple[list[float], float]:
    """Minimise `cost` over log-parameters; return the parameters and the mean log-likelihood."""
    from scipy.optimize import minimize

    found = minimize(
        cost, np.zeros(size), method="L-BFGS-B", bounds=[(-LOG_BOUND, LOG_BOUND)] * size
    )
    if not found.success or not np.isfinite(found.fun):
        raise ValueError(f"the {name} fit did not converge: {found.message}")
    if np.any(np.abs(found.x) > LOG_BOUND - 1e-3):
        raise ValueError(f"the {name} fit ran off to a bound: the data do not identify it")
    return [float(v) for v in np.exp(found.x)], -float(found.fun)


def _history_arrays(
    x: npt.ArrayLike, t_x: npt.ArrayLike, age: npt.ArrayLike
) -> tuple[Floats, Floats, Floats]:
    """Return x, t_x and age as arrays, refusing histories that cannot be."""
    xs, recency, ages = (np.asarray(v, dtype=np.float64) for v in (x, t_x, age))
    if np.any(xs < 0) or np.any(recency < 0) or np.any(recency > ages):
        raise ValueError("histories need x >= 0 and 0 <= t_x <= age")
    return xs, recency, ages


def _spends(x: npt.ArrayLike, spend: npt.ArrayLike) -> tuple[Floats, Floats]:
    """Return x and spend as arrays, refusing negative counts."""
    xs, spends = np.asarray(x, dtype=np.float64), np.asarray(spend, dtype=np.float64)
    if np.any(xs < 0):
        raise ValueError("histories need x >= 0")
    return xs, spends
