"""Whether a model deserves to serve: offline evaluation of rankers and products on the
lake, and the promotion gate that moves ``models/latest``.

It sits above :mod:`bunjang_lab.ranking` and :mod:`bunjang_lab.products` (it judges
both), so neither of them imports it. The ``train`` and ``evaluate`` commands live in
:mod:`bunjang_lab.evaluation.cli`.
"""
