"""When two pictures are "the same photo": the matching policy over the image index.

A query is hashed as is and mirrored; each stored picture has hash rows for the full
frame and for centre crops (:data:`~bunjang_lab.fraud.images.hashing.CROP_FRACTIONS`).
A (query variant, stored row) pair matches when both hashes agree:

* pHash within :attr:`MatchPolicy.close` and dHash within :attr:`MatchPolicy.loose`, or
* dHash within ``close`` and pHash within ``loose``

(one hash very close, the other at least roughly so). A match whose pHash + dHash
distance is at most :data:`STRONG_MATCH` is near-certain; looser ones are weaker
evidence (the scan gives them a lower weight). Candidates come from exact range
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

        >>> MatchPolicy().accepts(np.array([2, 12, 12]), np.array([15, 6, 20])).tolist()
        [True, True, False]
        >>> bool(MatchPolicy(10, 18).accepts(10, 18))
        True
        """
        p, d = np.asarray(phash_distance), np.asarray(dhash_distance)
        return ((p <= self.close) & (d <= self.loose)) | ((d <= self.close) & (p <= self.loose))


DEFAULT_POLICY = MatchPolicy()
#: pHash + dHash distance up to which a match is strong evidence on its own (measured:
#: 1.5% of the sample's pictures have a false match this close, 16% at any distance the
#: policy accepts; docs/images.md).
STRONG_MATCH = 16


def find_matches(index: ImageIndex, hashes: ImageHashes, policy: MatchPolicy = DEFAULT_POLICY) -> list[dict]:
    """Stored pictures matching ``hashes``, closest first: one dict per picture with
    ``image, listing, seller, key, distance, position`` (its number in storing order).

    ``distance`` is the smallest pHash + dHash distance over the variant pairs that matched
    (0 to 2 x ``policy.loose``), so 0 means an identical picture.
    """
    found_pictures, found_distances = [], []
    for qp, qd in hashes.query_variants():
        rows = np.union1d(index.phash.query(qp, policy.close)[0], index.dhash.query(qd, policy.close)[0])
        if not len(rows):
            continue
        p = np.bitwise_count(index.phash.hashes[rows] ^ np.uint64(qp)).astype(np.int64)
        d = np.bitwise_count(index.dhash.hashes[rows] ^ np.uint64(qd)).astype(np.int64)
        keep = policy.accepts(p, d)
        found_pictures.append(index.picture_of_row[rows[keep]])
        found_distances.append((p + d)[keep])
    if not found_pictures:
        return []
    pictures, distances = np.concatenate(found_pictures), np.concatenate(found_distances)
    order = np.lexsort((distances, pictures))  # by picture, then distance: first is the best
    pictures, distances = pictures[order], distances[order]
    first = np.r_[True, pictures[1:] != pictures[:-1]]
    matches = [{**index.picture(int(n)), "distance": int(dist), "position": int(n)}
               for n, dist in zip(pictures[first], distances[first])]
    return sorted(matches, key=lambda m: (m["distance"], m["position"]))
