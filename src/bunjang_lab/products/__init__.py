"""Recommendation products: home feed, popular lists, related items, search suggestions.

Kept free of heavy imports: the serving CLI imports :mod:`bunjang_lab.products.suggest_match`
(standard library only) on its lookup path.
"""
