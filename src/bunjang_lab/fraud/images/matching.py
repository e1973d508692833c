"""When two pictures are "the same photo": the matching policy over the image index.

A query is hashed as is and mirrored; each stored picture has hash rows for the full
frame and for centre crops (:data:`~bunjang_lab.fraud.images.hashing.CROP_BOXES`).

1. **Candidates**: every stored picture with a (query variant, stored row) pair whose
   pHash *or* dHash is within :attr:`MatchPolicy.search` bits, from exact range queries on
   both hash indexes (no misses). The radius is loose on purpose: a 10% crop from one
   side, a watermark or a text overlay moves one of the hashes by up to 20 bits.
2. **Verification** of at most :attr:`MatchPolicy.verify_at_most` candidates per view
   (agreeing hashes first, then the nearest: a screenshot's page regions came within the
   radius of ~60 look-alike sample pictures each, 38 s of verification for one picture):
   the colour thumbnails of query and candidate are aligned over crops
   and mirroring (:func:`~bunjang_lab.fraud.images.verify.similarity`). A candidate is a
   *strong* match when the similarity reaches :attr:`MatchPolicy.verified`, or when the
   trimmed similarity (overlays ignored) reaches :attr:`MatchPolicy.verified_trimmed` and
   either the hashes also agree (:meth:`MatchPolicy.accepts`: one hash within ``close``,
   the other within ``loose``) or the misfit lies on the ignored pixels as an overlay's
   does (``overlay_share`` at least :attr:`MatchPolicy.overlay`, with at least
   :attr:`MatchPolicy.kept_contrast` of the stored picture's contrast outside them: text
   on a dark photo moves the hashes apart); a *loose* match when the hashes agree and the similarity
   reaches :attr:`MatchPolicy.supported`. The scan weighs strong matches enough to flag
   alone. A turned view, a region of the query or a stored deep cut must pass the strict
   rule: the hashes agree, the similarity reaches :attr:`MatchPolicy.verified` and the
   details (the thumbnails without their coarse layout) correlate to
   :attr:`MatchPolicy.detail` at least; or, for the :attr:`MatchPolicy.verify_disagreeing`
   nearest candidates whose hashes disagree, the thumbnails are near-identical
   (similarity :attr:`MatchPolicy.identical`, details :attr:`MatchPolicy.identical_detail`):
   a region cut a few percent off every stored box moves the hashes, not the thumbnail.

The radii and thresholds were tuned on real photographs and the simulator's images; the
measurements are in ``docs/images.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bunjang_lab.fraud.images.hashing import ImageHashes, View
from bunjang_lab.fraud.images.index import ImageIndex
from bunjang_lab.fraud.images.verify import Similarity, monochrome, similarity


@dataclass(frozen=True)
class MatchPolicy:
    close: int = 8
    loose: int = 16
    search: int = 14
    verified: float = 0.9
    verified_trimmed: float = 0.92
    overlay: float = 0.9
    kept_contrast: float = 0.1
    supported: float = 0.75
    pdq: int = 31
    pdq_quality: int = 50
    verify_at_most: int = 32
    detail: float = 0.85
    identical: float = 0.95
    identical_detail: float = 0.93
    verify_disagreeing: int = 4

    def accepts(self, phash_distance, dhash_distance):
        """Vectorised: which (pHash, dHash) distance pairs agree on a match.

        >>> MatchPolicy().accepts(np.array([2, 12, 12]), np.array([15, 6, 20])).tolist()
        [True, True, False]
        >>> bool(MatchPolicy(10, 18).accepts(10, 18))
        True
        """
        p, d = np.asarray(phash_distance), np.asarray(dhash_distance)
        return ((p <= self.close) & (d <= self.loose)) | ((d <= self.close) & (p <= self.loose))

    def judge(self, hashes_agree, scores: Similarity):
        """Vectorised, over candidates: (is a match, is a strong match).

        >>> agree = np.array([True, True, True, False, False, False])
        >>> scores = Similarity(np.array([0.95, 0.85, 0.85, 0.85, 0.6, 0.6]), np.array([0.96, 0.9, 0.95, 0.95, 0.97, 0.97]),
        ...                     np.array([0.5, 0.5, 0.5, 0.7, 0.95, 0.95]), np.array([0.6, 0.6, 0.6, 0.6, 0.2, 0.05]))
        >>> [m.tolist() for m in MatchPolicy().judge(agree, scores)]
        [[True, True, True, False, True, False], [True, False, True, False, True, False]]
        """
        agree, correlation = np.asarray(hashes_agree), np.asarray(scores.correlation)
        overlaid = agree | ((np.asarray(scores.overlay_share) >= self.overlay)
                            & (np.asarray(scores.kept_contrast) >= self.kept_contrast))
        strong = (correlation >= self.verified) | (overlaid & (np.asarray(scores.trimmed) >= self.verified_trimmed))
        return strong | (agree & (correlation >= self.supported)), strong


DEFAULT_POLICY = MatchPolicy()


def find_matches(index: ImageIndex, hashes: ImageHashes, policy: MatchPolicy = DEFAULT_POLICY) -> list[dict]:
    """Stored pictures matching ``hashes``, strongest first: one dict per picture with
    ``image, listing, seller, key, distance, similarity, strong, position`` (its number
    in storing order).

    Every view of the query (:meth:`ImageHashes.query_views`: the full frame, its turns,
    and the regions found inside it) is searched and verified on its own; a picture's
    best view counts. ``distance`` is the smallest pHash + dHash distance over the
    variant pairs (0 means an identical picture), ``similarity`` the thumbnails' best
    alignment (1 = identical).
    """
    best: dict[int, dict] = {}
    by_pdq: dict[tuple, np.ndarray] = {}  # a region's turns share its eight PDQ hashes
    for number_of_view, view in enumerate(hashes.query_views()):
        if view.thumbnail is None:  # nothing to verify with
            continue
        if view.pdq not in by_pdq:
            by_pdq[view.pdq] = _pdq_rows(index, view, policy)
        for number, distance, sim, strong in _verified(index, view, policy, by_pdq[view.pdq], extra=number_of_view > 0):
            found = best.get(number)
            if found is None or (strong, -distance, sim) > (found["strong"], -found["distance"], found["similarity"]):
                best[number] = {**index.picture(number), "distance": distance, "similarity": sim, "strong": strong,
                                "position": number}
    return sorted(best.values(), key=lambda m: (not m["strong"], m["distance"], m["position"]))


def _verified(index: ImageIndex, view: View, policy: MatchPolicy, by_pdq: np.ndarray,
              extra: bool) -> list[tuple[int, int, float, bool]]:
    """(picture, distance, similarity, strong) of the stored pictures matching one view
    (``by_pdq``: the rows its PDQ hashes found, :func:`_pdq_rows`);
    an ``extra`` view (a turn or a region) must pass both the hashes and the plain
    correlation: the regions of look-alike pictures (one object on a plain or blurred
    background) are alike, so the looser arms would match them; so must a stored deep
    cut (:data:`~bunjang_lab.fraud.images.hashing.BAND_CUTS`). A monochrome full frame (a
    grey, sepia or faded copy of a colour photo) is also compared in luminance, under
    that strict rule (not a region: one cut to a flat object of one colour is monochrome
    too, and matched other objects' regions)."""
    found_rows, found_distances, found_agree = [], [], []
    for qp, qd in view.variants():
        rows = np.union1d(np.union1d(index.phash.query(qp, policy.search)[0], index.dhash.query(qd, policy.search)[0]),
                          by_pdq)
        p = np.bitwise_count(index.phash.hashes[rows] ^ np.uint64(qp)).astype(np.int64)
        d = np.bitwise_count(index.dhash.hashes[rows] ^ np.uint64(qd)).astype(np.int64)
        found_rows.append(rows)
        found_distances.append(p + d)
        found_agree.append(policy.accepts(p, d) | np.isin(rows, by_pdq))
    rows = np.concatenate(found_rows)
    if not len(rows):
        return []
    # candidates are thumbnails cut to a box: a picture's full frame, each of its content
    # boxes, each of its deep cuts
    keys = np.column_stack([index.thumb_of_row[rows], index.cut_of_row[rows]])
    candidates, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    pictures = index.picture_of_row[rows][first]
    distances = np.full(len(candidates), np.iinfo(np.int64).max)
    np.minimum.at(distances, inverse, np.concatenate(found_distances))
    agree = np.zeros(len(candidates), dtype=bool)
    np.logical_or.at(agree, inverse, np.concatenate(found_agree))
    # a deep cut of a look-alike picture is freer to fit: the strict rule, as for extra
    # views; of what can pass it only as a near-identical thumbnail (hashes disagree), the
    # nearest few are verified (each view of a screenshot has dozens)
    deep = candidates[:, 1:].any(axis=1)
    only_identical = ~agree & (deep | extra)
    nearest = np.flatnonzero(only_identical)[np.argsort(distances[only_identical], kind="stable")]
    kept = np.union1d(np.flatnonzero(~only_identical), nearest[: policy.verify_disagreeing])
    kept = kept[np.lexsort((distances[kept], ~agree[kept]))[: policy.verify_at_most]]
    if not len(kept):
        return []
    candidates, pictures, distances, agree, deep = (a[kept] for a in (candidates, pictures, distances, agree, deep))
    thumbs, cuts = index.thumbnails[candidates[:, 0].astype(np.int64)], candidates[:, 1:]
    scores = similarity(view.thumbnail, thumbs, cuts)
    matched, strong = policy.judge(agree, scores)
    # the coarse layout of a region cut to one object on a blurred background is shared
    # by look-alike pictures; a copy's details (edges, small parts, the blur's own
    # pattern) line up too
    # a region cut a few percent off the stored boxes moves the hashes (16-26 bits on the
    # missed copies) while its thumbnail still lines up: near-identical thumbnails, details
    # included, stand in for agreeing hashes
    identical = (scores.correlation >= policy.identical) & (scores.detail >= policy.identical_detail)
    strict = (agree | identical) & (scores.correlation >= policy.verified) & (scores.detail >= policy.detail)
    if extra:
        matched = strong = strict
    else:
        matched, strong = np.where(deep, strict, matched), np.where(deep, strict, strong)
    if not extra and monochrome(view.thumbnail):  # a region cut to one flat object is monochrome too
        in_grey = similarity(view.thumbnail, thumbs, cuts, grey=True).correlation
        faded = agree & (in_grey >= policy.verified) & (in_grey > scores.correlation)
        matched, strong = matched | faded, strong | faded
        scores = scores._replace(correlation=np.where(faded, in_grey, scores.correlation))
    return [(int(n), int(dist), round(float(sim), 3), bool(s))
            for n, dist, sim, s in zip(pictures[matched], distances[matched], scores.correlation[matched], strong[matched])]


def _pdq_rows(index: ImageIndex, view: View, policy: MatchPolicy) -> np.ndarray:
    """The hash rows of the stored thumbnails within :attr:`MatchPolicy.pdq` bits of one of
    the view's PDQ hashes (its turns and mirrors), both of PDQ quality
    :attr:`MatchPolicy.pdq_quality` at least (below it a hash rests on too little, e.g. a
    plain picture): PDQ's own threshold for a match, so they count as agreeing hashes."""
    if view.pdq_quality < policy.pdq_quality:
        return np.empty(0, dtype=np.int64)
    thumbs = np.unique(np.concatenate([index.pdq.query(words, policy.pdq)[0] for words in view.pdq]))
    return np.sort(index.row_of_thumb[thumbs[index.pdq_quality[thumbs] >= policy.pdq_quality]])
