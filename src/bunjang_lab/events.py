"""The event contract as data: event types, their fields, value kinds and reason codes.

Every event is one JSON object. :data:`COMMON` fields are on every event;
:data:`TYPES` says which other fields each type requires or allows, and :data:`FIELDS`
gives each field's kind and constraints (the same for every type that carries it).
Anything else on a record is kept as ``extra``, never a reason to reject.

:func:`validate` is the exact, record-at-a-time validator: it turns a decoded JSON
object into a normalised row or raises :class:`Rejected` with a reason code. The
ingest fast path (vectorised over Arrow columns) must agree with it on every record.

>>> row = validate({"event_id": "e1", "type": "click", "ts": "2024-05-01T09:00:00+09:00",
...                 "user_id": 7, "item_id": "i1", "ref": "push"}, now_ms=1_800_000_000_000)
>>> row["ts"], row["user_id"], row["extra"]
(1714521600000, '7', '{"ref":"push"}')
>>> try:
...     validate({"event_id": "e2", "type": "teleport", "ts": 0, "user_id": "u"})
... except Rejected as exc:
...     print(exc.reason, exc.field)
unknown_type type
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bunjang_lab.event_values import (BILLINGS, CAMPAIGN_ACTIONS, DECISIONS, GENDERS, MAX_EVENT_ID_CHARS,
                                      REPORT_REASONS, STATUSES, TARGET_KINDS)

MAX_LINE_BYTES = 1 << 20  # a line longer than this (without its newline) is quarantined
DEFAULT_MIN_TS = "2010-01-01T00:00:00Z"
MAX_FUTURE_MS = 24 * 3600 * 1000  # events more than 24 h ahead of the ingest clock are rejected
BLANK = " \t\r\n"  # what "empty" strips: a value made only of these characters is empty

# RFC 3339 date-time with a mandatory offset; shared by the exact validator and the
# vectorised fast path (Python `re` and RE2 read it the same way: ASCII digits only).
TS_PATTERN = (
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(?:([Zz])|([+-])([01][0-9]|2[0-3]):([0-5][0-9]))$"
)
# A category is a ">"-separated path without empty segments, e.g. "신발>스니커즈".
CATEGORY_PATTERN = r"^[^>]+(>[^>]+)*$"
# Image references that are already absolute: a POSIX path or a URL with a scheme.
ABSOLUTE_REF_PATTERN = r"^(/|[A-Za-z][A-Za-z0-9+.-]*://)"



@dataclass(frozen=True)
class Field:
    """One field of the contract.

    ``kind`` is one of: ``id`` (non-empty string; a JSON integer is accepted and stored
    as its decimal string), ``string`` (``non_empty`` when required), ``category``,
    ``integer``, ``boolean``, ``choice``, ``string_list``, ``timestamp``.
    """

    name: str
    kind: str
    doc: str
    minimum: int | None = None
    maximum: int | None = None  # None; for birth_year the current year is used
    choices: tuple[str, ...] = ()
    default: Any = None


FIELDS: dict[str, Field] = {f.name: f for f in (
    Field("event_id", "string", f"unique id of the event, 1..{MAX_EVENT_ID_CHARS} characters"),
    Field("type", "choice", "event type (see TYPES)"),
    Field("ts", "timestamp", "RFC 3339 date-time with offset, or integer epoch milliseconds"),
    Field("user_id", "id", "the actor: seller for listings, sender for chat, buyer for purchase"),
    Field("gender", "choice", '"M", "F" or null', choices=GENDERS),
    Field("birth_year", "integer", "birth year, 1900..the current year, or null", minimum=1900),
    Field("item_id", "id", "the listing"),
    Field("title", "string", "listing title"),
    Field("description", "string", "listing description"),
    Field("price", "integer", "price in KRW", minimum=0),
    Field("category", "category", 'category path, e.g. "신발>스니커즈"'),
    Field("brand", "string", "brand name"),
    Field("images", "string_list", "image paths or URLs; relative paths are resolved against the file's folder"),
    Field("status", "choice", "new status of the listing", choices=STATUSES),
    Field("surface", "string", "where the item was shown or clicked (home, search, related...)"),
    Field("position", "integer", "0- or 1-based slot on the surface", minimum=0),
    Field("on", "boolean", "true adds the favorite, false removes it", default=True),
    Field("query", "string", "the search text"),
    Field("to_user_id", "id", "the recipient of a chat message"),
    Field("text", "string", "the chat message"),
    Field("campaign_id", "id", "the ad campaign"),
    Field("item_ids", "string_list", "the seller's listings the campaign promotes"),
    Field("billing", "choice", '"cpc" (per click), "cpm" (per 1,000 impressions) or "hourly" (a reserved slot)',
          choices=BILLINGS),
    Field("bid", "integer", "KRW per click (cpc), per 1,000 impressions (cpm) or per hour (hourly)", minimum=1),
    Field("daily_budget", "integer", "KRW the campaign may spend per day (KST)", minimum=1),
    Field("start_ms", "integer", "when the campaign starts, epoch milliseconds", minimum=0),
    Field("end_ms", "integer", "when the campaign ends (exclusive), epoch milliseconds; null runs until stopped",
          minimum=0),
    Field("categories", "string_list", "targeted category paths (a listing's category or any sub-path); empty: all"),
    Field("keywords", "string_list", "targeted search keywords (search surface); empty: all"),
    Field("genders", "string_list", 'targeted genders ("M", "F", "unknown"); empty: all'),
    Field("age_bands", "string_list", 'targeted age bands ("10s".."50+", "unknown"); empty: all'),
    Field("action", "choice", "what happens to the campaign", choices=CAMPAIGN_ACTIONS),
    Field("auction_id", "id", "the auction that placed the ad"),
    Field("price_charged", "integer",
          "KRW the auction priced the ad at: per click (cpc), per 1,000 impressions (cpm), per hour (hourly)",
          minimum=0),
    Field("target_kind", "choice", '"listing" (target_id is its item_id), "chat" (the message\'s event_id) or "user"',
          choices=TARGET_KINDS),
    Field("target_id", "id", "the reported or moderated listing, chat message or user"),
    Field("reason", "choice", "the reporter's reason code", choices=REPORT_REASONS),
    Field("comment", "string", "the reporter's own words"),
    Field("decision", "choice", '"confirmed" (fraud) or "cleared" (not fraud; a later decision overrides an earlier one)',
          choices=DECISIONS),
    Field("fraud_categories", "string_list", "the fraud categories a confirmed decision found (bunjang_lab.fraud.categories)"),
    Field("target_text", "string", "the target's text as the moderator saw it (title and description, or the message)"),
)}

COMMON = ("event_id", "type", "ts", "user_id")


@dataclass(frozen=True)
class EventType:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    doc: str = ""

    @property
    def fields(self) -> tuple[str, ...]:
        return self.required + self.optional


TYPES: dict[str, EventType] = {t.name: t for t in (
    EventType("signup", (), ("gender", "birth_year"), "a user joined"),
    EventType("listing", ("item_id", "title", "price", "category"), ("description", "brand", "images"),
              "a seller listed an item (user_id is the seller)"),
    EventType("listing_status", ("item_id", "status"), (), "a listing changed status"),
    EventType("impression", ("item_id",), ("surface", "position"), "an item was shown to the user"),
    EventType("click", ("item_id",), ("surface",), "the user opened an item"),
    EventType("favorite", ("item_id",), ("on",), "the user added (or removed) a favorite"),
    EventType("search", ("query",), (), "the user searched"),
    EventType("chat", ("item_id", "to_user_id", "text"), (), "a chat message about an item (user_id is the sender)"),
    EventType("purchase", ("item_id", "price"), (), "the user bought an item (user_id is the buyer)"),
    EventType("ad_campaign", ("campaign_id", "item_ids", "billing", "bid", "daily_budget", "start_ms"),
              ("end_ms", "categories", "keywords", "genders", "age_bands"),
              "a seller created or changed an ad campaign (user_id is the seller; the latest event wins)"),
    EventType("ad_campaign_status", ("campaign_id", "action"), (), "a campaign was paused, resumed or stopped"),
    EventType("ad_impression", ("auction_id", "campaign_id", "item_id", "surface", "position", "billing",
                                "price_charged"), (),
              "an ad was shown (user_id is the viewer; cpm is charged here)"),
    EventType("ad_click", ("auction_id", "campaign_id", "item_id", "surface", "position", "billing",
                           "price_charged"), (),
              "the viewer opened an ad (cpc is charged here)"),
    EventType("report", ("target_kind", "target_id", "reason"), ("comment",),
              "a user reported a listing, a chat message or a user (user_id is the reporter)"),
    EventType("moderation", ("target_kind", "target_id", "decision"), ("fraud_categories", "target_text"),
              "a moderator decided on a target (user_id is the moderator; the latest decision wins)"),
)}

# Type-specific fields in contract order (the lake's column order after the common ones).
TYPE_FIELDS: tuple[str, ...] = tuple(dict.fromkeys(f for t in TYPES.values() for f in t.fields))

REASONS: dict[str, str] = {
    "line_too_long": f"the line is longer than {MAX_LINE_BYTES} bytes",
    "invalid_utf8": "the line is not valid UTF-8 (or a string escapes a lone surrogate)",
    "invalid_json": "the line is not valid JSON",
    "not_object": "the JSON value is not an object",
    "missing_field": "a required field is missing, null or empty",
    "wrong_type": "a field has the wrong JSON type",
    "out_of_range": "a field's value is outside its allowed range or set",
    "unknown_type": "the event type is not in the contract",
    "bad_timestamp": "ts is not an RFC 3339 date-time with offset nor integer epoch milliseconds",
    "ts_too_old": "ts is before the configured lower bound (default 2010-01-01)",
    "ts_in_future": "ts is more than 24 hours after the ingest clock",
}


class Rejected(ValueError):
    """A record that breaks the contract; ``reason`` is a key of :data:`REASONS`."""

    def __init__(self, reason: str, field: str | None = None, detail: str = ""):
        super().__init__(f"{reason}{f' ({field})' if field else ''}{f': {detail}' if detail else ''}")
        self.reason, self.field, self.detail = reason, field, detail


_TS_RE = re.compile(TS_PATTERN)
_CATEGORY_RE = re.compile(CATEGORY_PATTERN)
_ABSOLUTE_RE = re.compile(ABSOLUTE_REF_PATTERN)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def to_epoch_ms(value: str | int | dt.datetime) -> int:
    """Epoch milliseconds of an RFC 3339 string, a datetime or an integer (returned as is).

    A leap second (``23:59:60``, which RFC 3339 allows) counts as POSIX time does: the same
    instant as the second after it.

    >>> to_epoch_ms("2010-01-01T09:00:00.1239+09:00")
    1262304000123
    >>> to_epoch_ms("2016-12-31T23:59:60Z") == to_epoch_ms("2017-01-01T00:00:00Z")
    True
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("a naive datetime has no offset")
        return (value - _EPOCH) // dt.timedelta(milliseconds=1)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _TS_RE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"not an RFC 3339 date-time with offset: {value!r}")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    offset = dt.timedelta(0) if zulu else (1 if sign == "+" else -1) * dt.timedelta(hours=int(off_h), minutes=int(off_m))
    micros = int((fraction or "").ljust(6, "0")[:6])
    leap = second == "60"
    moment = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), 59 if leap else int(second), micros,
                         tzinfo=dt.timezone(offset))
    return to_epoch_ms(moment) + (1000 if leap else 0)


def resolve_image(ref: str, base_dir: str | None) -> str:
    """An absolute path or URL for an image reference found in a file under ``base_dir``.

    >>> resolve_image("./images/a.jpg", "/data/day1"), resolve_image("https://x/a.jpg", "/d")
    ('/data/day1/images/a.jpg', 'https://x/a.jpg')
    """
    ref = re.sub(r"^(\./)+", "", ref)
    if base_dir is None or _ABSOLUTE_RE.match(ref):
        return ref
    return f"{base_dir.rstrip('/')}/{ref}"


def _is_blank(value: str) -> bool:
    return not value.strip(BLANK)


def _check_str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise Rejected("wrong_type", name, f"expected a string, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Rejected("invalid_utf8", name, "lone surrogate escape") from None
    return value


def _check_value(field: Field, value: Any, required: bool, max_birth_year: int, base_dir: str | None) -> Any:
    """The normalised value of a non-null field, or :class:`Rejected`."""
    name, kind = field.name, field.kind
    if kind in ("integer", "boolean") or (kind == "id" and isinstance(value, int)):
        if isinstance(value, bool) != (kind == "boolean") or not isinstance(value, int):
            raise Rejected("wrong_type", name, f"expected {'a boolean' if kind == 'boolean' else 'an integer'}")
        if kind == "boolean":
            return value
        maximum = max_birth_year if name == "birth_year" else field.maximum
        low = field.minimum if field.minimum is not None else 0 if kind == "id" else -(2**63)
        if value < low or value > (maximum if maximum is not None else 2**63 - 1):
            raise Rejected("out_of_range", name, str(value))
        return str(value) if kind == "id" else value
    if kind == "string_list":
        if not isinstance(value, list):
            raise Rejected("wrong_type", name, "expected a list of strings")
        refs = [_check_str(ref, name) for ref in value]
        if any(_is_blank(ref) for ref in refs):
            raise Rejected("out_of_range", name, "empty list element")
        return [resolve_image(ref, base_dir) for ref in refs] if name == "images" else refs
    value = _check_str(value, name)
    if (required or kind == "id") and _is_blank(value):
        raise Rejected("missing_field", name, "empty")
    if kind == "choice" and value not in field.choices:
        raise Rejected("out_of_range", name, value[:64])
    if kind == "category" and not _CATEGORY_RE.match(value):
        raise Rejected("out_of_range", name, "empty category segment")
    return value


_KNOWN = {name: frozenset(COMMON) | frozenset(t.fields) for name, t in TYPES.items()}


@lru_cache(maxsize=8)
def _year_of(epoch_ms: int) -> int:
    return dt.datetime.fromtimestamp(epoch_ms / 1000, dt.timezone.utc).year


def validate(record: Any, *, min_ts_ms: int | None = None, now_ms: int | None = None,
             base_dir: str | None = None) -> dict[str, Any]:
    """A normalised row for one decoded JSON record, or raise :class:`Rejected`.

    The row has the common fields (``ts`` as epoch milliseconds UTC, ids as strings),
    every field of the record's type (absent ones as None, ``on`` defaulting to True),
    and ``extra``: the JSON text of non-null fields outside the contract, or None.
    Null values count as absent everywhere.
    """
    if not isinstance(record, dict):
        raise Rejected("not_object", None, type(record).__name__)
    now_ms = now_ms if now_ms is not None else to_epoch_ms(dt.datetime.now(dt.timezone.utc))
    min_ts_ms = min_ts_ms if min_ts_ms is not None else to_epoch_ms(DEFAULT_MIN_TS)
    for name in ("event_id", "type"):
        if record.get(name) is None:
            raise Rejected("missing_field", name)
    event_id = _check_str(record["event_id"], "event_id")
    if _is_blank(event_id):
        raise Rejected("missing_field", "event_id", "empty")
    if len(event_id) > MAX_EVENT_ID_CHARS:
        raise Rejected("out_of_range", "event_id", f"{len(event_id)} characters")
    type_name = _check_str(record["type"], "type")
    event_type = TYPES.get(type_name)
    if event_type is None:
        raise Rejected("unknown_type", "type", type_name[:64])
    ts = record.get("ts")
    if ts is None:
        raise Rejected("missing_field", "ts")
    try:
        ts_ms = to_epoch_ms(ts) if isinstance(ts, str) or (isinstance(ts, int) and not isinstance(ts, bool)) else None
    except ValueError as exc:
        raise Rejected("bad_timestamp", "ts", str(exc)[:120]) from None
    if ts_ms is None:
        raise Rejected("bad_timestamp", "ts", f"expected a string or integer, got {type(ts).__name__}")
    if ts_ms < min_ts_ms:
        raise Rejected("ts_too_old", "ts", str(ts)[:64])
    if ts_ms > now_ms + MAX_FUTURE_MS:
        raise Rejected("ts_in_future", "ts", str(ts)[:64])
    max_birth_year = _year_of(now_ms)
    row: dict[str, Any] = {"event_id": event_id, "type": type_name, "ts": ts_ms}
    for name in ("user_id", *event_type.fields):
        value = record.get(name)
        required = name == "user_id" or name in event_type.required
        if value is None:
            if required:
                raise Rejected("missing_field", name)
            row[name] = FIELDS[name].default
        else:
            row[name] = _check_value(FIELDS[name], value, required, max_birth_year, base_dir)
    known = _KNOWN[type_name]
    extra = {k: v for k, v in record.items() if k not in known and v is not None}
    row["extra"] = _extra_json(extra) if extra else None
    return row


def _extra_json(extra: dict[str, Any]) -> str:
    text = json.dumps(extra, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Rejected("invalid_utf8", "extra", "lone surrogate escape") from None
    return text


_NON_BLANK = "[^ \t\r\n]"  # JSON Schema `pattern` searches: at least one non-blank character


def _field_schema(field: Field) -> dict[str, Any]:
    kind = field.kind
    if kind == "id":
        return {"oneOf": [{"type": "string", "pattern": _NON_BLANK}, {"type": "integer", "minimum": 0}]}
    if kind == "integer":
        schema = {"type": "integer", "minimum": field.minimum}
        return schema if field.maximum is None else {**schema, "maximum": field.maximum}
    if kind == "boolean":
        return {"type": "boolean", "default": field.default}
    if kind == "choice":
        return {"enum": list(field.choices)}
    if kind == "category":
        return {"type": "string", "pattern": CATEGORY_PATTERN}
    if kind == "string_list":
        return {"type": "array", "items": {"type": "string", "pattern": _NON_BLANK}}
    return {"type": "string"}


def json_schema() -> dict[str, Any]:
    """The contract as a JSON Schema (draft 2020-12); ``src/bunjang_lab/schema/events.schema.json``.

    Not expressible there, and enforced by :func:`validate` only: the ts window
    (``min_ts`` .. now + 24 h), birth_year <= the current year, JSON integers written
    without a fraction (1.0 is rejected), the 1 MiB line limit.
    """
    def typed(name: str, required: bool) -> dict[str, Any]:
        schema = {"description": FIELDS[name].doc, **_field_schema(FIELDS[name])}
        if required and FIELDS[name].kind == "string":
            schema["pattern"] = _NON_BLANK
        return schema if required else {"anyOf": [{"type": "null"}, schema]}

    branches = [{
        "if": {"properties": {"type": {"const": t.name}}},
        "then": {"description": t.doc, "required": list(t.required),
                 "properties": {f: typed(f, f in t.required) for f in t.fields}},
    } for t in TYPES.values()]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "bunjang_lab event (one JSON Lines record)",
        "description": "Fields outside the contract are allowed and kept as `extra`; null counts as absent.",
        "type": "object",
        "required": list(COMMON),
        "properties": {
            "event_id": {"description": FIELDS["event_id"].doc, "type": "string", "minLength": 1,
                         "maxLength": MAX_EVENT_ID_CHARS, "pattern": _NON_BLANK},
            "type": {"description": FIELDS["type"].doc, "enum": list(TYPES)},
            "ts": {"description": FIELDS["ts"].doc,
                   "oneOf": [{"type": "string", "pattern": TS_PATTERN}, {"type": "integer"}]},
            "user_id": {"description": FIELDS["user_id"].doc, **_field_schema(FIELDS["user_id"])},
        },
        "allOf": branches,
    }


if __name__ == "__main__":  # regenerate the schema file: python -m bunjang_lab.events > .../events.schema.json
    print(json.dumps(json_schema(), ensure_ascii=False, indent=2))
