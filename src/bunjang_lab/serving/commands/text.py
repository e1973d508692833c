"""``python -m bunjang_lab.score text "…"`` or ``--jsonl FILE``: fraud risk and reasons of texts.

One JSON object per text: ``{"id", "risk", "flagged", "reasons": [{"code", "category",
"weight", "evidence", "source"}], "model"}``. ``model`` says whether a trained classifier
was used (``rules+classifier:<version>``) or the rules alone (``rules``: nothing trained
yet, or ``--rules-only``). Identifiers of confirmed scams in the serving cache's blocklist
(added by ``moderation`` events, ``score event``) give ``confirmed_<kind>`` reasons; without a
published cache at the default URL the text is scored without them, and a ``--cache`` named
but unusable is an error. Texts over 20,000 characters are scored on their first 20,000
and the answer says so (``"truncated": true``). In a batch, a bad line answers
``{"line", "error"}``, the others are still scored, and the exit code is 1.
"""

from __future__ import annotations

import atexit

from bunjang_lab.cli import UserError, parser
from bunjang_lab.errors import InvalidInput
from bunjang_lab.serving.commands.common import EXIT_PARTIAL, emit, read_input, read_jsonl
from bunjang_lab.serving.inputs import utf8

BATCH = 512  # texts per classifier call in --jsonl mode


def blocklist_from_args(args, strict: bool = True):
    """The cache's confirmed-identifier blocklist; None when the cache has nothing published
    (or cannot be used) unless it was named and ``strict``."""
    from bunjang_lab.serving.backends import open_cache
    from bunjang_lab.serving.blocklist import CachedBlocklist
    from bunjang_lab.serving.cache import CacheError

    try:
        cache = open_cache(args.cache)
        atexit.register(cache.close)
        blocklist = CachedBlocklist(cache)
        blocklist.state()
    except CacheError:
        if strict and args.cache is not None:
            raise
        return None
    return blocklist


class _BlocklistOnFirstLookup:
    """The cache's blocklist, opened when a text first holds an identifier (or a listing a
    picture) to look up: most texts hold none, and opening the cache is a tenth of a one-shot
    ``score text``. An unusable cache answers nothing held."""

    def __init__(self, args):
        self._args = args
        self._blocklist = None
        self._opened = False

    def lookup(self, identifiers):
        if not self._opened:
            self._blocklist, self._opened = blocklist_from_args(self._args, strict=False), True
        return self._blocklist.lookup(identifiers) if self._blocklist is not None else {}


def scorer_from_args(args, strict_cache: bool = True):
    from bunjang_lab.fraud.text_scorer import TextScorer

    # a cache named on the command line is opened now, so that a wrong one fails before any answer
    named = strict_cache and args.cache is not None
    return TextScorer.from_models(args.models, use_classifier=not args.rules_only,
                                  blocklist=blocklist_from_args(args) if named else _BlocklistOnFirstLookup(args))


def _batch(args) -> int:
    from bunjang_lab.serving.queries import text_request  # batches only: one text needs no cache modules

    scorer = scorer_from_args(args)
    failed = False
    pending: list[tuple[object, str]] = []

    def flush():
        for (ident, _), answer in zip(pending, scorer.score_many([t for _, t in pending])):
            emit({"id": ident, **answer})
        pending.clear()

    for number, obj in read_jsonl(args.jsonl):
        try:
            if isinstance(obj, InvalidInput):
                raise obj
            pending.append(text_request(obj))
        except InvalidInput as exc:
            flush()  # keep the output in input order
            ident = obj.get("id") if isinstance(obj, dict) else None
            emit({"line": number, "id": ident if isinstance(ident, (str, int)) else None, "error": str(exc)})
            failed = True
            continue
        if len(pending) >= BATCH:
            flush()
    flush()
    return EXIT_PARTIAL if failed else 0


def run(argv: list[str]) -> int:
    p = parser("python -m bunjang_lab.score text", "Fraud risk and reasons for a text or a JSON Lines batch.")
    p.add_argument("text", nargs="?", help="the text to score ('-' reads it from stdin)")
    p.add_argument("--jsonl", metavar="FILE", help="batch input ('-' for stdin): one {\"id\", \"text\"} object per line")
    p.add_argument("--rules-only", action="store_true", help="do not use the trained classifier even if there is one")
    p.add_argument("--models", default=None, help="models folder (default: BUNJANG_MODELS or models/)")
    p.add_argument("--cache", default=None,
                   help="cache URL holding the confirmed-fraud blocklist (default: BUNJANG_CACHE_URL or sqlite:///var/cache.sqlite)")
    args = p.parse_args(argv)
    if (args.text is None) == (args.jsonl is None):
        raise UserError("give either a TEXT or --jsonl FILE")
    if args.jsonl is not None:
        return _batch(args)
    if args.text == "-":
        try:
            text = read_input("-").decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"stdin is not valid UTF-8 (byte {exc.start})") from None
    else:
        text = utf8(args.text, "TEXT")
    emit(scorer_from_args(args).score(text))
    return 0
