"""The shared input checks (theory.validation) and their use in the Gaussian closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from numerics.gaussians import random_spd, sorted_matching_cost
from theory.gaussians import gaussian_kl, gaussian_kl_diagonal, gaussian_w2_squared, spd_sqrt
from theory.validation import (
    DenseSizeError,
    check_range,
    dense_guard,
    integer,
    max_dense_bytes,
    real_array,
    real_scalar,
)


def test_real_array_refuses_complex_object_and_strings():
    for bad in (np.ones(2) * 1j, [1.0, 2j], np.array([1, None], dtype=object), ["a", "b"], torch.ones(2) * 1j):
        with pytest.raises(TypeError):
            real_array(bad, "x")
    with pytest.raises(ValueError, match="NaN"):
        real_array([1.0, np.nan], "x")
    with pytest.raises(ValueError, match="dimension"):
        real_array(np.ones(3), "x", ndim=2)
    a = real_array(np.arange(3, dtype=np.int32), "x")
    assert a.dtype == np.float64 and a.tolist() == [0.0, 1.0, 2.0]
    assert real_array(torch.ones(2, dtype=torch.float32), "x").dtype == np.float64
    assert np.isnan(real_array([np.nan], "x", finite=False)).all()


def test_scalars_and_integers():
    assert real_scalar(np.float32(0.5), "x", 0.0, 1.0) == 0.5
    assert integer(1000.0, "n", 1) == 1000 and isinstance(integer(np.int64(3), "n"), int)
    for bad, err in ((1j, TypeError), (True, TypeError), ("1", TypeError), (np.ones(2), TypeError)):
        with pytest.raises(err):
            real_scalar(bad, "x")
    for bad in (np.nan, np.inf, -1.0):
        with pytest.raises(ValueError):
            real_scalar(bad, "x", 0.0)
    assert real_scalar(np.inf, "x", 0.0, allow_inf=True) == np.inf
    for bad in (2.5, np.nan, -1):
        with pytest.raises(ValueError):
            integer(bad, "n", 0)
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        real_scalar(1.0, "x", 0.0, 1.0, lo_open=True, hi_open=True)


def test_dense_guard_reads_the_cap_from_the_environment(monkeypatch):
    monkeypatch.delenv("MEMGEN_MAX_DENSE_GB", raising=False)
    assert max_dense_bytes() == 4 * 2**30
    dense_guard((2**14, 2**14), "matrix")  # 2 GiB: under the default cap
    with pytest.raises(DenseSizeError, match=r"8 GiB .* 4 GiB"):
        dense_guard((2**14, 2**14), "matrix", copies=4)
    monkeypatch.setenv("MEMGEN_MAX_DENSE_GB", "0.5")
    with pytest.raises(DenseSizeError, match=r"MEMGEN_MAX_DENSE_GB = 0\.5 GiB"):
        dense_guard((2**14, 2**14), "matrix")
    monkeypatch.setenv("MEMGEN_MAX_DENSE_GB", "-1")
    with pytest.raises(ValueError, match="positive"):
        max_dense_bytes()
    err = DenseSizeError("x")
    assert isinstance(err, ValueError) and isinstance(err, MemoryError)


def test_gaussian_closed_forms_refuse_complex_covariances():
    # Before: a complex Hermitian covariance was cast to its real part with a ComplexWarning and
    # gaussian_w2_squared returned 0.0.
    c = np.array([[2.0, 1j], [-1j, 2.0]])
    m = np.zeros(2)
    for fn in (gaussian_w2_squared, gaussian_kl):
        with pytest.raises(TypeError, match="complex"):
            fn(m, c, m, c.real)
    with pytest.raises(TypeError, match="complex"):
        spd_sqrt(c)
    with pytest.raises(TypeError, match="complex"):
        gaussian_kl_diagonal(m, np.ones(2) + 0j, m, np.ones(2))
    with pytest.raises(ValueError, match="var1"):
        gaussian_kl_diagonal(m, np.ones(2), m, np.zeros(2))
    with pytest.raises(TypeError, match="complex"):
        sorted_matching_cost(np.ones(3) * 1j, np.ones(3))
    with pytest.raises(ValueError, match="cond"):
        random_spd(3, np.random.default_rng(0), cond=np.nan)


def test_scalar_range_checks_agree_with_the_array_path():
    # scalars take a fast path; its decisions and messages are those of the array path
    for lo, hi, lo_open, hi_open in ((0.0, 1.0, False, False), (0.0, 1.0, True, True), (None, 2, False, True)):
        for x in (-1.0, 0.0, 0.5, 1.0, 2, 3.5, float("nan"), float("inf")):
            scalar_ok = array_ok = True
            try:
                check_range(x, "x", lo, hi, lo_open=lo_open, hi_open=hi_open)
            except ValueError as e:
                scalar_ok, scalar_msg = False, str(e)
            try:
                check_range(np.array([x]), "x", lo, hi, lo_open=lo_open, hi_open=hi_open)
            except ValueError:
                array_ok = False
            assert scalar_ok == array_ok, (x, lo, hi, lo_open, hi_open)
            if not scalar_ok:
                assert scalar_msg.startswith("x must lie in")
