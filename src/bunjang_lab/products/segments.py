"""Gender × age-band segments (standard library only; serving uses them for unknown users).

>>> segment("F", 2001, 2026), segment(None, None, 2026), segment("x", 1960, 2026)
('F|20s', 'unknown|unknown', 'unknown|50+')
>>> age_band(2012, 2026), age_band(1976, 2026), age_band(2030, 2026)
('10s', '50+', 'unknown')
"""

from __future__ import annotations

GENDERS = ("M", "F", "unknown")
AGE_BANDS = ("10s", "20s", "30s", "40s", "50+", "unknown")
ALL = "all"


def age_band(birth_year, year: int) -> str:
    """Age band at ``year``; missing or implausible birth years (age < 10 or > 100) are unknown."""
    try:
        age = int(year) - int(birth_year)
    except (TypeError, ValueError):
        return "unknown"
    if not 10 <= age <= 100:
        return "unknown"
    return "50+" if age >= 50 else f"{age // 10 * 10}s"


def gender_of(gender) -> str:
    return gender if gender in ("M", "F") else "unknown"


def segment(gender, birth_year, year: int) -> str:
    """The segment key used in popular lists and the cache: ``"<gender>|<band>"``."""
    return f"{gender_of(gender)}|{age_band(birth_year, year)}"


def all_segments() -> list[str]:
    """Every segment key, ``"all"`` first."""
    return [ALL] + [f"{g}|{b}" for g in GENDERS for b in AGE_BANDS]
