"""When two pictures are "the same photo": the matching policy over the image index.

A query is hashed as is and mirrored; each stored picture has hash rows for the full
frame and for centre crops (:data:`~bunjang_lab.fraud.images.hashing.CROP_FRACTIONS`).
A (query variant, stored row) pair matches when both hashes agree:

* pHash within :attr:`MatchPolicy.close` and dHash within :attr:`MatchPolicy.loose`, or
* dHash within ``close`` and pHash within ``loose``

(one hash very close, the other at least roughly so). Candidates come from exact range
queries on both hash indexes at radius ``close``, so the policy never misses a pair it
accepts. The distances were tuned on real photographs and the simulator's images; the
measurements are in ``docs/images.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bunjang_lab.fraud.images.hashing import ImageHashes
from bunjang_lab.fraud.images.index import ImageIndex


@dataclass(frozen=True)
class MatchPolicy:
    close: int = 8
    loose: int = 16

    def accepts(self, phash_distance, dhash_distance):
        """Vectorised: which (pHash, dHash) distance pairs are a match.

        >>> MatchPolicy().accepts(np.array([2, 12, 12]), np.array([14, 6, 20])).tolist()
        [True, True, False]
        """
        p, d = np.asarray(phash_distance), np.asarray(dhash_distance)
        return ((p <= self.close) & (d <= self.loose)) | ((d <= self.close) & (p <= self.loose))


DEFAULT_POLICY = MatchPolicy()


def find_matches(index: ImageIndex, hashes: ImageHashes, policy: MatchPolicy = DEFAULT_POLICY) -> list[dict]:
    """Stored pictures matching ``hashes``: one dict per (file content, listing) with
    ``image, listing, seller, key, distance, mirrored``, closest first.

    ``distance`` is the smallest pHash + dHash distance over the variants that matched
    (0 to 2 x ``policy.loose``), so 0 means an identical picture.
    """
    best: dict[tuple, dict] = {}
    for mirrored, (qp, qd) in enumerate(hashes.query_variants()):
        rows = np.union1d(index.phash.query(qp, policy.close)[0], index.dhash.query(qd, policy.close)[0])
        if not len(rows):
            continue
        p = np.bitwise_count(index.phash.hashes[rows] ^ np.uint64(qp))
        d = np.bitwise_count(index.dhash.hashes[rows] ^ np.uint64(qd))
        keep = policy.accepts(p, d)
        for row, distance in zip(rows[keep].tolist(), (p + d)[keep].tolist()):
            meta = index.row(row)
            key = (meta["key"], meta["listing"])
            if key not in best or distance < best[key]["distance"]:
                best[key] = {"image": meta["image"], "listing": meta["listing"], "seller": meta["seller"],
                             "key": meta["key"], "distance": int(distance), "mirrored": bool(mirrored)}
    return sorted(best.values(), key=lambda m: (m["distance"], str(m["listing"])))
