"""Plot helpers shared by the `gao-li` figures."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from numerics.experiments.gao_li.osdnet_checkpoint_trend import CheckpointTrend

COLORS = plt.get_cmap("tab10")

CLAIMS_TRAINING = (
    "gao-li/osdnet-off-subspace-decays-in-training",
    "gao-li/osdnet-generalizes-in-subspace",
    "gao-li/generation-error-bound",
)


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def smooth(y: np.ndarray, w: int) -> np.ndarray:
    w = max(1, min(w, y.size))
    return np.convolve(y, np.ones(w) / w, mode="valid")


def trend_data(trend: CheckpointTrend) -> dict[str, np.ndarray]:
    fields = ("steps", "rho", "off_fraction", "nn_distance", "distinct_fraction", "coverage")
    out = {k: getattr(trend, k) for k in fields}
    out.update({f"excess_{k}": np.asarray(getattr(trend.excess, k)) for k in ("total", "inside", "off", "se")})
    return out
