"""Figures of `gao-li`, one module per topic (the topics of :mod:`numerics.experiments.gao_li`)."""
