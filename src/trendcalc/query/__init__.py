"""The pure query layer: dict → frozen model, with the vocabulary PostHog's fields accept.

Nothing here imports ``trendcalc.engine`` or ``trendcalc.store``: whether a parsed query can be
*run* is the engine's answer (``trendcalc.engine.check_supported``), asked right after parsing.
"""
