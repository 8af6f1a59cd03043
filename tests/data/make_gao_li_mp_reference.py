"""Regenerate ``gao_li_mp_reference.json``: the 30-digit mpmath ``odefun`` reference trajectory.

Used by the ``gao-li/memorization`` check in the fast tier (the full tier recomputes it).
Run: ``python tests/data/make_gao_li_mp_reference.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from numerics.flow_matching import integrate_flow_mp
from numerics.gao_li_data import dataset
from proofs_checks.gao_li import MP_REFERENCE, mp_reference_case


def main() -> None:
    case = mp_reference_case()
    x = integrate_flow_mp(
        np.array(case["x0"]), dataset(case["dataset"]), case["sigma_min"], case["t_end"], dps=case["dps"]
    )
    out = {
        "case": case,
        "x_t_end": [float(v) for v in x],
        "method": "mpmath.odefun (Taylor) in tau = -ln sigma_t, posterior weights max-shifted",
    }
    Path(MP_REFERENCE).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
