"""Correlated shocks through a Gaussian copula: validation, marginals kept, the asked correlation, determinism."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
import yaml

from planner.analyses.sampling import draw, latent_uniforms
from planner.errors import InputError
from planner.inputs.shocks import Choice, Lognormal, Triangular, Uniform, load_shocks

N = 4000


def shock_file(tmp_path, correlation, **extra):
    doc = {
        "name": "c",
        "shocks": [
            {
                "name": "supply",
                "quarter": "2025Q3",
                "probability": 0.4,
                "supply_cut": {
                    "by": "vendor",
                    "value": "Huawei",
                    "fraction": {"dist": "uniform", "low": 0.2, "high": 0.6},
                },
            },
            {
                "name": "price",
                "quarter": "2025Q3",
                "probability": 0.7,
                "price": {
                    "by": "channel",
                    "value": "oem-distributor",
                    "factor": {"dist": "triangular", "low": 1.0, "mode": 1.1, "high": 1.5},
                },
            },
            {"name": "budget", "quarter": "2025Q4", "probability": 0.2, "budget_cut": {"fraction": 0.1}},
        ],
        **extra,
    }
    if correlation is not None:
        doc["correlation"] = correlation
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.mark.parametrize(
    "correlation, message",
    [
        (
            {"shocks": ["supply", "price"], "matrix": [[1, 0.5], [0.4, 1]]},
            "is not symmetric: [0][1] is 0.5 but [1][0] is 0.4",
        ),
        ({"shocks": ["supply", "price"], "matrix": [[1, 0.5], [0.5, 0.9]]}, "matrix[1][1] must be 1"),
        ({"shocks": ["supply", "price"], "matrix": [[1, 0.5]]}, "must be 2 x 2"),
        (
            {"shocks": ["supply", "price"], "matrix": [[1, 1.5], [1.5, 1]]},
            "matrix[0][1] must lie in [-1, 1], got 1.5",
        ),
        (
            {
                "shocks": ["supply", "price", "budget"],
                "matrix": [[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]],
            },
            "is not positive semi-definite (smallest eigenvalue -0.8",
        ),
        ({"shocks": ["supply", "nope"], "matrix": [[1, 0], [0, 1]]}, "no shock named 'nope' in the file"),
        ({"shocks": ["supply", "supply"], "matrix": [[1, 0], [0, 1]]}, "a shock is named twice"),
    ],
)
def test_bad_correlations_are_refused(tmp_path, correlation, message) -> None:
    with pytest.raises(InputError) as err:
        load_shocks(shock_file(tmp_path, correlation))
    assert message in str(err.value) and "c.yaml" in str(err.value)


def test_a_singular_matrix_is_allowed(tmp_path) -> None:
    """Two shocks that always move together (correlation 1): the same uniform drives both."""
    shocks = load_shocks(shock_file(tmp_path, {"shocks": ["supply", "price"], "matrix": [[1, 1], [1, 1]]}))
    for i in range(50):
        u = latent_uniforms(shocks, 3, i)
        assert u["supply"] == pytest.approx(u["price"], abs=1e-9)


def _samples(shocks, seed=11):
    occurs = {s.name: [] for s in shocks.shocks}
    amounts = {s.name: [] for s in shocks.shocks}
    latent = []
    for i in range(N):
        happened, values = draw(shocks, seed, i)
        names = {s.name for s in happened}
        for name in occurs:
            occurs[name].append(name in names)
            if name in values:
                amounts[name].append(values[name])
        latent.append(latent_uniforms(shocks, seed, i))
    return occurs, amounts, latent


def _ks(values, cdf) -> float:
    x = np.sort(np.asarray(values))
    n = len(x)
    f = np.array([cdf(v) for v in x])
    return float(max((np.arange(1, n + 1) / n - f).max(), (f - np.arange(n) / n).max()))


def test_the_copula_keeps_each_marginal_and_gives_the_asked_correlation(tmp_path) -> None:
    rho = 0.8
    shocks = load_shocks(
        shock_file(tmp_path, {"shocks": ["supply", "price"], "matrix": [[1, rho], [rho, 1]]})
    )
    occurs, amounts, latent = _samples(shocks)
    # occurrence: each shock as often as its probability (4 standard errors)
    for name, p in (("supply", 0.4), ("price", 0.7), ("budget", 0.2)):
        share = np.mean(occurs[name])
        assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / N), (name, share)

    # amounts given occurrence: Kolmogorov-Smirnov against the file's distribution (1% critical value)
    def uniform(v: float) -> float:
        return (v - 0.2) / 0.4

    a, c, b = 1.0, 1.1, 1.5

    def triangular(v: float) -> float:
        return (v - a) ** 2 / ((b - a) * (c - a)) if v < c else 1 - (b - v) ** 2 / ((b - a) * (b - c))

    for name, cdf in (("supply", uniform), ("price", triangular)):
        m = len(amounts[name])
        assert _ks(amounts[name], cdf) < 1.63 / math.sqrt(m), name
    # the latent normals carry the asked correlation (4 standard errors of a correlation estimate)
    inv = NormalDist().inv_cdf
    z = np.array([[inv(u["supply"]), inv(u["price"])] for u in latent])
    r = float(np.corrcoef(z.T)[0, 1])
    assert abs(r - rho) < 4 * (1 - rho**2) / math.sqrt(N), r
    # and the shocks arrive together more often than independent ones would
    both = np.mean(np.array(occurs["supply"]) & np.array(occurs["price"]))
    assert both > 0.4 * 0.7 + 4 * math.sqrt(0.28 * 0.72 / N)
    # amounts move together too: rank correlation of the two amounts when both occur, positive
    pairs = [(amounts_s, amounts_p) for (amounts_s, amounts_p) in zip(*_both_amounts(shocks), strict=True)]
    ranks = np.argsort(np.argsort(np.array(pairs), axis=0), axis=0)
    assert np.corrcoef(ranks.T)[0, 1] > 0.3


def _both_amounts(shocks):
    s, p = [], []
    for i in range(N):
        _, values = draw(shocks, 11, i)
        if "supply" in values and "price" in values:
            s.append(values["supply"])
            p.append(values["price"])
    return s, p


def test_without_a_block_the_draws_are_unchanged(tmp_path) -> None:
    """A shock left out of the block, and a file without one, draw exactly as before (the independent stream)."""
    plain = load_shocks(shock_file(tmp_path, None))
    other = tmp_path / "other"
    other.mkdir()
    both = load_shocks(shock_file(other, {"shocks": ["supply", "price"], "matrix": [[1, 0.8], [0.8, 1]]}))
    for i in range(200):
        a, _ = draw(plain, 5, i)
        b, _ = draw(both, 5, i)
        assert ("budget" in {s.name for s in a}) == ("budget" in {s.name for s in b})
    assert latent_uniforms(plain, 5, 0) == {}


@pytest.mark.parametrize(
    "dist",
    [
        Uniform(dist="uniform", low=0.2, high=0.6),
        Triangular(dist="triangular", low=1.0, mode=1.1, high=1.5),
        Lognormal(dist="lognormal", median=1.2, sigma=0.15),
        Choice(dist="choice", values=[3.0, 1.0, 2.0], weights=[0.2, 0.5, 0.3]),
    ],
)
def test_quantiles_invert_the_distribution(dist) -> None:
    """Worked by hand: the median and the quartiles of each distribution."""
    want = {
        "uniform": (0.3, 0.4, 0.5),
        "triangular": (  # the mode is at 0.2 of the mass: all three quartiles lie above it
            1.5 - math.sqrt(0.75 * 0.5 * 0.4),
            1.5 - math.sqrt(0.5 * 0.5 * 0.4),
            1.5 - math.sqrt(0.25 * 0.5 * 0.4),
        ),
        "lognormal": tuple(1.2 * math.exp(0.15 * NormalDist().inv_cdf(q)) for q in (0.25, 0.5, 0.75)),
        "choice": (1.0, 1.0, 2.0),  # 1 has 0.5, then 2 (0.8 cumulative), then 3
    }[dist.dist]
    assert [dist.quantile(q) for q in (0.25, 0.5, 0.75)] == pytest.approx(want)
