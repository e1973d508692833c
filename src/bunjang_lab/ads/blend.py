"""Ads inside a served list: at fixed positions, marked ``"ad": true`` with their campaign,
never more than a set share of the list (standard library: serving blends on every answer).

>>> organic = [{"item_id": f"i{n}", "score": 1.0 - n / 10} for n in range(6)]
>>> ads = [{"item_id": "a1", "campaign_id": "c1"}, {"item_id": "i4", "campaign_id": "c2"}]
>>> [(e["item_id"], e.get("ad", False)) for e in blend(organic, ads, positions=(1, 4), max_share=0.4)]
[('i0', False), ('a1', True), ('i1', False), ('i2', False), ('i4', True), ('i3', False), ('i5', False)]

``i4`` shows once, as the ad: a listing is never both promoted and organic in one list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bunjang_lab.errors import InvalidInput

DEFAULT_POSITIONS = (2, 7, 14)   # 0-based slots of a list that ads may take, in slot order
DEFAULT_MAX_SHARE = 0.2


def blend(organic: Sequence[Mapping], ads: Sequence[Mapping], positions: Sequence[int] = DEFAULT_POSITIONS,
          max_share: float = DEFAULT_MAX_SHARE, *, copy: bool = True) -> list[dict]:
    """``organic`` entries with ``ads`` (best first) placed at ``positions`` of the result.

    An ad takes its position only if the list reaches it and the ads stay within
    ``max_share`` of the list's length; the organic copy of a promoted listing is dropped.
    ``copy=False`` puts ``organic``'s own dicts in the result (a caller that built them for it).
    """
    if not 0 <= max_share <= 1:
        raise InvalidInput(f"max_share must lie in [0, 1], got {max_share}")
    if any(p < 0 for p in positions) or len(set(positions)) != len(positions):
        raise InvalidInput(f"ad positions must be distinct and non-negative, got {list(positions)}")
    promoted = {ad["item_id"] for ad in ads}
    rest = [dict(entry) if copy else entry for entry in organic if entry["item_id"] not in promoted]
    out: list[dict] = []
    placed = taken = 0   # ads placed, organic entries taken from ``rest``
    for position in sorted(positions):
        if placed == len(ads):
            break
        fill = min(position - len(out), len(rest) - taken)
        if fill > 0:
            out += rest[taken:taken + fill]
            taken += fill
        if len(out) < position or placed + 1 > max_share * (len(out) + 1 + len(rest) - taken):
            break
        out.append({**ads[placed], "ad": True})
        placed += 1
    return out + rest[taken:]
