"""Gender × age-band segments, the one definition of age bands (standard library only:
serving uses them for unknown users).

>>> segment("F", 2001, 2026), segment(None, None, 2026), segment("x", 1960, 2026)
('F|20s', 'unknown|unknown', 'unknown|50+')
>>> age_band(2012, 2026), age_band(1976, 2026), age_band(2030, 2026)
('10s', '50+', 'unknown')
"""

from __future__ import annotations

from bunjang_lab.errors import InvalidInput

UNKNOWN = "unknown"
GENDERS = ("M", "F", UNKNOWN)
AGE_BANDS = ("10s", "20s", "30s", "40s", "50+", UNKNOWN)
KNOWN_AGE_BANDS = AGE_BANDS[:-1]
ALL = "all"
MIN_AGE, MAX_AGE = 10, 100  # outside these a birth year is a typo or a placeholder


def band_of_age(age) -> str:
    """The band of an age in whole years; implausible ages (below 10, above 100) are unknown.

    >>> [band_of_age(a) for a in (9, 10, 29, 49, 50, 100, 101)]
    ['unknown', '10s', '20s', '40s', '50+', '50+', 'unknown']
    """
    if not MIN_AGE <= age <= MAX_AGE:
        return UNKNOWN
    return KNOWN_AGE_BANDS[-1] if age >= 50 else f"{age // 10 * 10}s"


def age_band(birth_year, year: int) -> str:
    """Age band at ``year``; missing or implausible birth years are unknown."""
    try:
        age = int(year) - int(birth_year)
    except (TypeError, ValueError):
        return UNKNOWN
    return band_of_age(age)


def plausible_birth_year(birth_year: int, year: int) -> int:
    """``birth_year`` when the age it gives at ``year`` is plausible, else an error: for a
    birth year someone typed, where a placeholder in the data would simply be unknown.

    >>> plausible_birth_year(1998, 2026)
    1998
    >>> plausible_birth_year(3000, 2026)
    Traceback (most recent call last):
    ...
    bunjang_lab.errors.InvalidInput: birth year 3000 gives an age of -974 in 2026; it must give 10 to 100
    """
    if age_band(birth_year, year) == UNKNOWN:
        raise InvalidInput(f"birth year {birth_year} gives an age of {int(year) - int(birth_year)} in {year}; "
                           f"it must give {MIN_AGE} to {MAX_AGE}")
    return birth_year


def gender_of(gender) -> str:
    return gender if gender in GENDERS[:-1] else UNKNOWN


def segment(gender, birth_year, year: int) -> str:
    """The segment key used in popular lists and the cache: ``"<gender>|<band>"``."""
    return f"{gender_of(gender)}|{age_band(birth_year, year)}"


def all_segments() -> list[str]:
    """Every segment key, ``"all"`` first."""
    return [ALL] + [f"{g}|{b}" for g in GENDERS for b in AGE_BANDS]
