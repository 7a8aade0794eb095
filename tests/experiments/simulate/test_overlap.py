"""MixSim overlap: Imhof inversion against scipy closed forms and Monte Carlo."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from experiments.simulate.overlap import (
    UnreachableOverlapError,
    misclassification_probability,
    mixture_overlap,
    scale_to_overlap,
    supremum_overlap,
)
from experiments.simulate.quadform import QuadraticForm, quadratic_form_cdf

# A quadrature that did not converge would be a bug: make its warning an error.
pytestmark = pytest.mark.filterwarnings("error::scipy.integrate.IntegrationWarning")


def random_covariance(rng, d):
    factor = rng.standard_normal((d + 2, d))
    return factor.T @ factor / (d + 2)


def monte_carlo_misclassification(rng, weight_i, mean_i, cov_i, weight_j, mean_j, cov_j, n):
    """omega_{j|i} by simulation with scipy densities; returns (estimate, standard error)."""
    x = rng.multivariate_normal(mean_i, cov_i, size=n)
    own = np.log(weight_i) + stats.multivariate_normal(mean_i, cov_i).logpdf(x)
    other = np.log(weight_j) + stats.multivariate_normal(mean_j, cov_j).logpdf(x)
    p = np.mean(own < other)
    return p, np.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize(
    "a, b, y",
    [(2.0, 0.0, 3.0), (-1.5, 0.0, -2.0), (0.7, 1.3, 2.0), (-0.7, 1.3, -1.0), (5.0, 0.2, 0.1),
     (0.01, 3.0, 1.0)],
)
def test_single_term_matches_noncentral_chi_square(a, b, y):
    # a W^2 + b W = a (W + b / 2a)^2 - b^2 / 4a: a scaled noncentral chi-square(1).
    probability, error = quadratic_form_cdf(QuadraticForm(np.array([a]), np.array([b])), y)
    noncentrality, z = (b / (2 * a)) ** 2, (y + b**2 / (4 * a)) / a
    dist = stats.ncx2(1, noncentrality) if b else stats.chi2(1)
    expected = dist.cdf(z) if a > 0 else dist.sf(z)
    assert probability == pytest.approx(expected, abs=1e-8)
    assert error < 1e-6


def test_sum_of_central_chi_squares_matches_chi2():
    # Equal weights: sum of 4 unit-weight squares is chi-square(4), plus a linear term 0.
    form = QuadraticForm(np.full(4, 1.5), np.zeros(4))
    for y in (0.5, 3.0, 9.0):
        assert quadratic_form_cdf(form, y)[0] == pytest.approx(stats.chi2(4).cdf(y / 1.5), abs=1e-9)


def test_pure_linear_form_is_normal():
    form = QuadraticForm(np.zeros(3), np.array([1.0, -2.0, 0.5]))
    assert quadratic_form_cdf(form, 1.2)[0] == pytest.approx(stats.norm.cdf(1.2 / np.sqrt(5.25)))


@pytest.mark.parametrize("d", [1, 2, 4])
def test_equal_covariances_give_the_normal_closed_form(d):
    # Linear discriminant: omega_{j|i} = Phi((log(pi_j / pi_i) - Delta^2 / 2) / Delta).
    rng = np.random.default_rng(d)
    cov = random_covariance(rng, d)
    mean_i, mean_j = rng.normal(size=d), rng.normal(size=d)
    delta = np.sqrt((mean_i - mean_j) @ np.linalg.solve(cov, mean_i - mean_j))
    expected = stats.norm.cdf((np.log(0.6 / 0.4) - delta**2 / 2) / delta)
    got, _ = misclassification_probability(0.4, mean_i, cov, 0.6, mean_j, cov)
    assert got == pytest.approx(expected, abs=1e-12)
    # Nearly equal covariances go through the numerical inversion and must agree.
    nearly, _ = misclassification_probability(0.4, mean_i, cov, 0.6, mean_j, cov * (1 + 1e-6))
    assert nearly == pytest.approx(expected, abs=1e-5)


def test_one_dimensional_unequal_variances_match_interval_probability():
    # In 1-D the region {pi_i phi_i < pi_j phi_j} is outside/inside the roots of a quadratic.
    w_i, m_i, v_i, w_j, m_j, v_j = 0.3, 0.0, 1.0, 0.7, 1.5, 4.0
    # log(w_i phi_i) - log(w_j phi_j) = A x^2 + B x + C < 0
    A = -0.5 / v_i + 0.5 / v_j
    B = m_i / v_i - m_j / v_j
    C = (np.log(w_i / w_j) - 0.5 * np.log(v_i / v_j) - 0.5 * m_i**2 / v_i + 0.5 * m_j**2 / v_j)
    low, high = np.sort(np.roots([A, B, C]).real)
    dist = stats.norm(m_i, np.sqrt(v_i))
    expected = dist.cdf(low) + dist.sf(high)  # A < 0: negative outside the roots
    got, _ = misclassification_probability(w_i, [m_i], [[v_i]], w_j, [m_j], [[v_j]])
    assert got == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("d, seed", [(2, 0), (2, 1), (3, 2), (5, 3), (8, 4)])
def test_misclassification_matches_monte_carlo(d, seed):
    rng = np.random.default_rng(seed)
    args = (0.35, rng.uniform(size=d), random_covariance(rng, d),
            0.65, rng.uniform(size=d), random_covariance(rng, d))
    got, error = misclassification_probability(*args)
    estimate, standard_error = monte_carlo_misclassification(rng, *args, n=200_000)
    assert abs(got - estimate) < 5 * standard_error + 1e-4
    assert error < 1e-6


def test_mixture_overlap_structure():
    rng = np.random.default_rng(7)
    k, d = 4, 3
    weights = rng.dirichlet(np.ones(k))
    means = rng.uniform(size=(k, d))
    covs = np.stack([random_covariance(rng, d) * 0.05 for _ in range(k)])
    overlap = mixture_overlap(weights, means, covs)
    assert np.allclose(overlap.pairwise, overlap.pairwise.T)
    assert np.all(np.diag(overlap.pairwise) == 0)
    pairs = overlap.pairwise[np.triu_indices(k, 1)]
    assert overlap.average == pytest.approx(pairs.mean())
    assert overlap.maximum == pytest.approx(pairs.max())
    i, j = 2, 0
    direct, _ = misclassification_probability(weights[i], means[i], covs[i],
                                              weights[j], means[j], covs[j])
    assert overlap.misclassification[i, j] == pytest.approx(direct)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_overlap_is_affine_invariant(seed):
    # Misclassification probabilities do not change under x -> A x + c applied to all.
    rng = np.random.default_rng(seed)
    k, d = 3, 2
    weights, means = np.array([0.2, 0.3, 0.5]), rng.uniform(size=(k, d))
    covs = np.stack([random_covariance(rng, d) * 0.1 for _ in range(k)])
    a, c = rng.normal(size=(d, d)) + 2 * np.eye(d), rng.normal(size=d)
    moved = mixture_overlap(weights, means @ a.T + c, a @ covs @ a.T)
    assert np.allclose(mixture_overlap(weights, means, covs).pairwise, moved.pairwise, atol=1e-8)


@pytest.mark.parametrize("kind, target", [("average", 0.01), ("average", 0.2), ("max", 0.05)])
def test_scale_to_overlap_hits_target(kind, target):
    rng = np.random.default_rng(11)
    k, d = 3, 2
    weights, means = np.array([0.25, 0.25, 0.5]), rng.uniform(size=(k, d))
    covs = np.stack([random_covariance(rng, d) for _ in range(k)])
    scale = scale_to_overlap(means, covs, weights, target, kind)
    assert mixture_overlap(weights, means, covs * scale).of_kind(kind) == pytest.approx(
        target, rel=1e-6)


def test_scale_to_overlap_rejects_unreachable_target():
    # A narrow and a wide component: even with equal means the overlap stays well below 0.9.
    means = np.array([[0.0, 0.0], [1.0, 0.0]])
    covs = np.stack([np.eye(2), 100 * np.eye(2)])
    with pytest.raises(UnreachableOverlapError, match="cannot be reached") as info:
        scale_to_overlap(means, covs, np.array([0.5, 0.5]), 0.9)
    assert info.value.reachable < 0.9


@pytest.mark.parametrize(
    "target, kind, k, match",
    [(0.0, "average", 2, "in \\(0, 1\\)"), (1.0, "average", 2, "in \\(0, 1\\)"),
     (0.1, "median", 2, "kind"), (0.1, "average", 1, "two components")],
)
def test_scale_to_overlap_rejects_bad_arguments(target, kind, k, match):
    means, covs = np.arange(k, dtype=float)[:, None], np.ones((k, 1, 1))
    with pytest.raises(ValueError, match=match):
        scale_to_overlap(means, covs, np.full(k, 1 / k), target, kind)


@pytest.mark.parametrize("c", [1 + 1e-7, 1.01, 1.5, 4.0])
def test_equal_means_proportional_covariances_match_chi2(c):
    # S_j = c S_i, equal means and weights: omega_{j|i} = P((1/c - 1) chi2_D < -D log c).
    d = 3
    cov = random_covariance(np.random.default_rng(0), d)
    mean = np.zeros(d)
    expected = stats.chi2(d).sf(d * np.log(c) / (1 - 1 / c))
    got, _ = misclassification_probability(0.5, mean, cov, 0.5, mean, c * cov)
    assert got == pytest.approx(expected, abs=1e-8)


@pytest.mark.filterwarnings("error")
def test_far_tail_with_heterogeneous_terms_is_quiet_and_tiny():
    # Eigenvalue gaps of three orders of magnitude, threshold ~35 sd out in the tail:
    # no IntegrationWarning, and the probability is ~1e-12 (Monte Carlo sees none in 1e6).
    a = -np.array([1.4e-6, 5.0e-5, 8.0e-5, 1.5e-4, 4.3e-4, 1.9e-3])
    b = np.array([8.4e-8, 5.9e-8, -4.4e-7, 3.5e-7, 4.6e-7, 2.1e-7])
    probability, error = quadratic_form_cdf(QuadraticForm(a, b), -0.0953)
    assert probability < 1e-8 and error < 1e-6
    w = np.random.default_rng(1).standard_normal((1_000_000, 6))
    assert np.mean(w**2 @ a + w @ b < -0.0953) == 0.0


def test_supremum_overlap_is_the_equal_means_limit():
    # Unequal covariances: the limit is the overlap of the same components with equal means.
    means = np.array([[0.0, 0.0], [1.0, 0.0]])
    covs = np.stack([np.eye(2), np.diag([9.0, 4.0])])
    weights = np.array([0.4, 0.6])
    limit = supremum_overlap(means, covs, weights)
    assert limit == pytest.approx(mixture_overlap(weights, np.zeros((2, 2)), covs).average,
                                  abs=1e-6)
    # Equal covariances: omega_{j|i} + omega_{i|j} tends to 1 (one of them to 1, one to 0).
    assert supremum_overlap(means, np.stack([covs[1], covs[1]]), weights) == pytest.approx(1.0)


coefficients = st.lists(st.floats(-5, 5, allow_subnormal=False), min_size=1, max_size=5)


@settings(max_examples=200, deadline=None)
@given(a=coefficients, b=coefficients, y=st.floats(-10, 10), shift=st.floats(0.01, 3))
def test_quadratic_form_cdf_is_a_cdf(a, b, y, shift):
    # In [0, 1], P(Q < y) + P(-Q < -y) = 1 (Q is continuous), and non-decreasing in y.
    n = min(len(a), len(b))
    form = QuadraticForm(np.array(a[:n]), np.array(b[:n]))
    if not np.any(form.a) and not np.any(form.b):
        return  # Q = 0 is not continuous
    mirrored = QuadraticForm(-form.a, -form.b)
    low, _ = quadratic_form_cdf(form, y)
    assert 0.0 <= low <= 1.0
    assert low + quadratic_form_cdf(mirrored, -y)[0] == pytest.approx(1.0, abs=1e-7)
    assert quadratic_form_cdf(form, y + shift)[0] >= low - 1e-7
