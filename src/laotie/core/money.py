"""Money: an integer count of minor units plus an ISO 4217 currency; never a float."""

from __future__ import annotations

from dataclasses import dataclass

# Minor units per major unit; ISO 4217 exponents for the currencies we format specially.
_EXPONENTS = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3}
_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "JPY": "¥", "GBP": "£"}


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units of one currency."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise TypeError("money is an integer count of minor units")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def times(self, quantity: int) -> Money:
        """Multiply by a whole quantity."""
        return Money(self.amount * quantity, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    def format(self) -> str:
        """Render for people, e.g. ¥12.50."""
        return format_minor(self.amount, self.currency)


def exponent(currency: str) -> int:
    """Return how many decimal places the currency's minor unit has."""
    return _EXPONENTS.get(currency, 2)


def format_minor(amount: int, currency: str) -> str:
    """Render minor units for people without ever going through a float."""
    places = exponent(currency)
    sign = "-" if amount < 0 else ""
    whole, part = divmod(abs(amount), 10**places)
    symbol = _SYMBOLS.get(currency, currency + " ")
    return f"{sign}{symbol}{whole:,}" + (f".{part:0{places}d}" if places else "")


def fee_of(amount: int, basis_points: int) -> int:
    """Return a fee in minor units, rounded half up, never more than the amount."""
    return min(amount, (amount * basis_points + 5_000) // 10_000)
