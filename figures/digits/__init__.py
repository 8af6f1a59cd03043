"""Figures of the ``digits/`` claims (extensions to the bundled digits), one module per topic, one function per figure.

Each plots the measurement object of :mod:`numerics.experiments.digits` that its claim's check judges.
"""
