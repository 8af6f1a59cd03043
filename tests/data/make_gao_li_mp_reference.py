"""Regenerate the 30-digit mpmath ``odefun`` reference trajectory of ``gao-li/memorization``.

The reference is package data of ``numerics.experiments`` (``numerics/experiments/data/``); the
fast tier reads it, ``memgen verify --full`` recomputes it. Run from the repository root:
``python tests/data/make_gao_li_mp_reference.py``.
"""

from __future__ import annotations

import json

from numerics.experiments import gao_li as exp


def main() -> None:
    out = {
        "case": exp.MP_REFERENCE_CASE,
        "x_t_end": [float(v) for v in exp.compute_mp_reference()],
        "method": "mpmath.odefun (Taylor) in tau = -ln sigma_t, posterior weights max-shifted",
    }
    exp.mp_reference_path().write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
