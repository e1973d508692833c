"""Reports and moderator decisions: the noisy feedback a fraud system learns from.

Users report some of what they see (many scams never, a few honest messages and listings
anyway); every reported target gets a moderator's decision some hours later, right most of
the time; some honest targets confirmed by mistake are cleared again on appeal. Draws come
from their own generator, so adding feedback changes no other event of a simulation.

>>> queue = Feedback(FeedbackConfig(report_fraud_message=1.0), seed=1, moderators=("m1",))
>>> queue.message(0, "e1", "u2", "카톡 ab1234 으로 연락 주세요", ("external_channel",))
>>> [(kind, fields["target_id"]) for _, kind, _, fields in queue.due(10 * DAY_MS)]
[('report', 'e1'), ('moderation', 'e1')]
"""

from __future__ import annotations

import heapq
import math
import random
from typing import Iterator, Sequence

from bunjang_lab.simulate.market import DAY_MS, HOUR_MS, TEXT_FRAUD, FeedbackConfig

MODERATORS = ("mod01", "mod02", "mod03")


class Feedback:
    """A time-ordered queue of ``report`` and ``moderation`` events still to be written."""

    def __init__(self, config: FeedbackConfig, seed: int, moderators: Sequence[str] = MODERATORS):
        self.config = config
        self.rng = random.Random(f"feedback-{seed}")
        self.moderators = tuple(moderators)
        self._queue: list[tuple[int, int, str, str, dict]] = []
        self._seq = 0

    def _push(self, ms: int, kind: str, user_id: str, fields: dict) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (ms, self._seq, kind, user_id, fields))

    def message(self, ms: int, event_id: str, recipient: str, text: str, fraud_types: Sequence[str]) -> None:
        """A chat message was sent; its recipient may report it."""
        is_fraud = any(c in TEXT_FRAUD for c in fraud_types)
        rate = self.config.report_fraud_message if is_fraud else self.config.report_honest_message
        if self.rng.random() < rate:
            reason = "off_platform" if is_fraud and self.rng.random() < 0.5 else "scam" if is_fraud else \
                self.rng.choice(("scam", "spam", "abusive", "other"))
            self._reported(ms + int(self.rng.uniform(1, 120) * 60_000), "chat", event_id, recipient, reason, text,
                           is_fraud, [c for c in fraud_types if c in TEXT_FRAUD])

    def listing(self, ms: int, item_id: str, users: Sequence[str], text: str, fraud_types: Sequence[str]) -> None:
        """A listing went up; one of ``users`` may report it."""
        is_fraud = bool(fraud_types)
        rate = self.config.report_fraud_listing if is_fraud else self.config.report_honest_listing
        if self.rng.random() < rate:
            reason = self.rng.choice(("scam", "fake_item")) if is_fraud else self.rng.choice(("fake_item", "other"))
            reporter = users[self.rng.randrange(len(users))]
            self._reported(ms + int(self.rng.uniform(0.2, 12) * HOUR_MS), "listing", item_id, reporter, reason, text,
                           is_fraud, list(fraud_types))

    def _reported(self, ms: int, target_kind: str, target_id: str, reporter: str, reason: str, text: str,
                  is_fraud: bool, fraud_types: list[str]) -> None:
        rng, cfg = self.rng, self.config
        self._push(ms, "report", reporter, {"target_kind": target_kind, "target_id": target_id, "reason": reason})
        right = rng.random() < cfg.moderator_accuracy
        confirmed = is_fraud == right
        decided = ms + int(rng.lognormvariate(math.log(cfg.decision_median_hours), 0.7) * HOUR_MS)
        decision = {"target_kind": target_kind, "target_id": target_id, "target_text": text}
        if confirmed:
            decision.update(decision="confirmed", fraud_categories=fraud_types or [rng.choice(TEXT_FRAUD)])
        else:
            decision.update(decision="cleared")
        self._push(decided, "moderation", rng.choice(self.moderators), decision)
        if confirmed and not is_fraud and rng.random() < cfg.appeal_share:
            appeal = decided + int(rng.uniform(0.5, 3) * DAY_MS)
            self._push(appeal, "moderation", rng.choice(self.moderators),
                       {"target_kind": target_kind, "target_id": target_id, "target_text": text, "decision": "cleared"})

    def due(self, before_ms: int) -> Iterator[tuple[int, str, str, dict]]:
        """(ms, type, user_id, fields) of every queued event before ``before_ms``, in time order."""
        while self._queue and self._queue[0][0] < before_ms:
            ms, _, kind, user_id, fields = heapq.heappop(self._queue)
            yield ms, kind, user_id, fields
