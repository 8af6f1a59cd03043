"""Figures of the ``merger-goldt/`` paper (spec ``merger_goldt.md`` §4), one module per topic, one function per figure.

No figure of the paper is available: each is a proposed equivalent of a figure type implied by
the abstracts. Each plots the measurement object of :mod:`numerics.experiments.merger_goldt` that
its claim's check judges (same function, same run, same memo and disk cache); ``run.full`` gives
the spec's sizes.
"""
