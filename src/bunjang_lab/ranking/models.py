"""The offline comparison's line-up: every baseline, then the FMs, the production model last."""

from __future__ import annotations

from bunjang_lab.ranking import features as F
from bunjang_lab.ranking.baselines import (FMModel, FreshPreferred, ImplicitModel, ItemKNN, Popularity, RandomModel,
                                           RecentlyViewed, Recommender, SegmentPopularity)
from bunjang_lab.ranking.hybrid import HybridFM
from bunjang_lab.ranking.neighbours import EASE, VSKNN, RP3beta, SequentialRules, SessionKNN

PRODUCTION = "fm-hybrid"  # the recommender the comparison judges against every other model


def default_models(seed: int = 0, work_dir=None, **fm_params) -> list[Recommender]:
    """Every model of the comparison, the production model last."""
    return [RandomModel(seed), Popularity(), SegmentPopularity(), RecentlyViewed(), FreshPreferred(seed=seed), ItemKNN(),
            ImplicitModel("als", seed=seed), ImplicitModel("bpr", seed=seed),
            SessionKNN(), VSKNN(), SequentialRules(), EASE(), RP3beta(),
            FMModel(F.ID_FIELDS, name="fm-id-only", seed=seed, work_dir=work_dir and f"{work_dir}/fm-id-only", **fm_params),
            FMModel(F.FULL_FIELDS, name="fm", seed=seed, work_dir=work_dir and f"{work_dir}/fm", **fm_params),
            HybridFM(name=PRODUCTION, seed=seed, **fm_params)]
