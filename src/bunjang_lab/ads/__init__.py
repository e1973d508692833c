"""Performance ads: sellers promote listings; an auction per request decides which ads show
in the home feed, search results and the related row of a listing, and at what price.

The domain only (no cache, no Airflow, no command line):

- :mod:`~bunjang_lab.ads.campaigns`: campaigns as the ``ad_campaign`` events describe them;
- :mod:`~bunjang_lab.ads.auction`: eligibility, ranking by bid × pCTR, the generalized second price;
- :mod:`~bunjang_lab.ads.plain_auction`: the same auction in the standard library (one-shot lookups);
- :mod:`~bunjang_lab.ads.calibration`: ranking scores into click probabilities;
- :mod:`~bunjang_lab.ads.pacing`: each daily budget spread over the day's traffic curve;
- :mod:`~bunjang_lab.ads.charges`: what one ad event costs (standard library: serving applies it);
- :mod:`~bunjang_lab.ads.ledger`: charges from ad events exactly once, statements per advertiser;
- :mod:`~bunjang_lab.ads.blend`: ads at fixed positions of a served list.

See ``docs/ads.md``.
"""
