"""EM pictures in the style of the course slides, drawn with matplotlib from saved arrays.

Data with more than two dimensions are shown on their first two principal components;
means project linearly and covariances as ``W^T Sigma W``. One-dimensional data are drawn
against a vertical jitter so that components still appear as ellipses (bands).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse
from matplotlib.ticker import MaxNLocator
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from experiments.run.rundir import DataArrays, EMFitArrays

COMPONENT_COLORS = np.array(
    [
        [0.12, 0.47, 0.71], [1.00, 0.50, 0.05], [0.17, 0.63, 0.17], [0.84, 0.15, 0.16],
        [0.58, 0.40, 0.74], [0.55, 0.34, 0.29], [0.89, 0.47, 0.76], [0.50, 0.50, 0.50],
        [0.74, 0.74, 0.13], [0.09, 0.75, 0.81],
    ]
)
JITTER_VARIANCE = 1.0 / 3.0  # variance of Uniform(-1, 1), the 1-D jitter axis


@dataclass(frozen=True)
class Projection:
    """Affine map ``x -> (x - center) @ basis`` onto two plotting axes."""

    center: np.ndarray
    basis: np.ndarray
    axis_labels: tuple[str, str]
    jitter: np.ndarray | None = None

    def points(self, X: np.ndarray) -> np.ndarray:
        if self.jitter is not None:
            return np.column_stack([X[:, 0], self.jitter])
        return (X - self.center) @ self.basis

    def means(self, means: np.ndarray) -> np.ndarray:
        if self.jitter is not None:
            return np.column_stack([means[:, 0], np.zeros(len(means))])
        return (means - self.center) @ self.basis

    def covariances(self, covariances: np.ndarray) -> np.ndarray:
        if self.jitter is not None:
            return np.array([np.diag([c[0, 0], JITTER_VARIANCE]) for c in covariances])
        return np.einsum("di,kde,ej->kij", self.basis, covariances, self.basis)


def principal_projection(X: np.ndarray, seed: int = 0) -> Projection:
    """Identity for 2-D data, the first two principal components for D > 2, jitter for 1-D.

    The principal axes are the leading right singular vectors of the centred data,
    :math:`X - \\bar x = U S V^\\top`, basis :math:`V_{:, :2}`.
    """
    n_features = X.shape[1]
    if n_features == 1:
        jitter = np.random.default_rng(seed).uniform(-1.0, 1.0, size=len(X))
        return Projection(np.zeros(1), np.eye(1), ("x", "jitter"), jitter)
    if n_features == 2:
        return Projection(np.zeros(2), np.eye(2), ("x[0]", "x[1]"))
    center = X.mean(axis=0)
    _, _, vt = np.linalg.svd(X - center, full_matrices=False)
    return Projection(center, vt[:2].T, ("PC 1", "PC 2"))


def responsibilities_at(X, weights, means, covariances) -> np.ndarray:
    """E-step formula :math:`\\gamma_{ik} \\propto \\pi_k N(x_i | \\mu_k, \\Sigma_k)` for
    saved parameters (a formula evaluation, not a refit)."""
    log_joint = np.column_stack(
        [
            np.log(max(w, 1e-300)) + multivariate_normal(m, c, allow_singular=True).logpdf(X)
            for w, m, c in zip(weights, means, covariances, strict=True)
        ]
    )
    return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))


def mixed_colors(responsibilities: np.ndarray) -> np.ndarray:
    """RGB of each point as the responsibility-weighted mix of component colours."""
    palette = COMPONENT_COLORS[np.arange(responsibilities.shape[1]) % len(COMPONENT_COLORS)]
    return np.clip(responsibilities @ palette, 0.0, 1.0)


OUTLIER_COLOR = np.array([0.6, 0.6, 0.6])


def label_colors(labels: np.ndarray) -> np.ndarray:
    """Component colour per label; negative labels (generated outliers) in grey."""
    labels = np.asarray(labels, dtype=int)
    colors = COMPONENT_COLORS[labels % len(COMPONENT_COLORS)]
    colors[labels < 0] = OUTLIER_COLOR
    return colors


def draw_ellipses(ax, means2, covariances2, n_std=(1.0, 2.0), linestyle="-", color=None):
    """Ellipses at ``n_std`` Mahalanobis radii from the eigen-decomposition of each 2x2
    covariance: half-axes :math:`r \\sqrt{\\lambda_j}`, rotated by the leading eigenvector."""
    for k, (mean, cov) in enumerate(zip(means2, covariances2, strict=True)):
        eigenvalues, eigenvectors = np.linalg.eigh(cov)
        eigenvalues = np.clip(eigenvalues, 0.0, None)
        angle = np.degrees(np.arctan2(eigenvectors[1, 1], eigenvectors[0, 1]))
        edge = color if color is not None else COMPONENT_COLORS[k % len(COMPONENT_COLORS)]
        for radius in n_std:
            width, height = 2 * radius * np.sqrt(eigenvalues[::-1])
            ax.add_patch(Ellipse(mean, width, height, angle=angle, fill=False, lw=1.5,
                                 ls=linestyle, edgecolor=edge))


def plot_em_snapshots(truth: DataArrays, em: EMFitArrays, projection: Projection) -> Figure:
    """One panel per saved EM iteration: points coloured by the responsibilities at that
    iteration, component ellipses (1 and 2 standard deviations) and means."""
    iterations = list(em.snapshot_iterations)
    fig = Figure(figsize=(3.2 * len(iterations), 3.4), layout="constrained")
    axes = fig.subplots(1, len(iterations), sharex=True, sharey=True, squeeze=False)[0]
    points = projection.points(truth.X)
    for ax, index in zip(axes, range(len(iterations)), strict=True):
        weights = em.snapshot_weights[index]
        means = em.snapshot_means[index]
        covariances = em.snapshot_covariances[index]
        colors = mixed_colors(responsibilities_at(truth.X, weights, means, covariances))
        ax.scatter(*points.T, c=colors, s=8, alpha=0.7, linewidths=0)
        means2 = projection.means(means)
        draw_ellipses(ax, means2, projection.covariances(covariances))
        ax.scatter(*means2.T, marker="X", s=80, c="black", edgecolors="white", zorder=3)
        label = "start" if iterations[index] == 0 else f"iteration {iterations[index]}"
        if index == len(iterations) - 1:
            label += " (last)"
        ax.set_title(label)
        ax.set_xlabel(projection.axis_labels[0])
    axes[0].set_ylabel(projection.axis_labels[1])
    return fig


def plot_log_likelihood(em: EMFitArrays) -> Figure:
    """Mean per-sample log-likelihood per EM iteration (monotone for exact EM)."""
    history = np.asarray(em.log_likelihood_history, dtype=float)
    fig = Figure(figsize=(5.0, 3.2), layout="constrained")
    ax = fig.subplots()
    iterations = np.arange(1, len(history) + 1)
    ax.plot(iterations, history, marker="o", ms=3, color=COMPONENT_COLORS[0])
    drops = np.flatnonzero(np.diff(history) < -1e-10 * np.abs(history[1:]))
    if drops.size:
        ax.scatter(iterations[drops + 1], history[drops + 1], color="red", zorder=3,
                   label="decrease")
        ax.legend()
    ax.set_xlabel("iteration")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("mean log-likelihood per sample")
    ax.set_title(f"EM log-likelihood ({len(history)} iterations)")
    ax.grid(alpha=0.3)
    return fig


def plot_labels_before_after(
    truth: DataArrays,
    em: EMFitArrays,
    projection: Projection,
    posterior_labels: np.ndarray | None = None,
    posterior_means: np.ndarray | None = None,
) -> Figure:
    """Before (the data, coloured by the true labels or a data file's known classes), after EM (MAP labels with
    fitted means) and, when available, the posterior MAP labels; points where EM and MCMC
    disagree are ringed in black."""
    panels = 3 if posterior_labels is not None else 2
    fig = Figure(figsize=(3.8 * panels, 3.8), layout="constrained")
    axes = fig.subplots(1, panels, sharex=True, sharey=True, squeeze=False)[0]
    points = projection.points(truth.X)
    before = label_colors(truth.labels) if truth.has_labels else "0.5"
    axes[0].scatter(*points.T, c=before, s=8, alpha=0.7, linewidths=0)
    if truth.has_truth:
        axes[0].scatter(*projection.means(truth.means).T, marker="*", s=160, c="black",
                        edgecolors="white", label="true means")
    known = "true labels" if truth.has_truth else "known classes"
    axes[0].set_title("before: data" + (f" ({known})" if truth.has_labels else ""))
    axes[1].scatter(*points.T, c=label_colors(em.map_labels), s=8, alpha=0.7, linewidths=0)
    axes[1].scatter(*projection.means(em.means).T, marker="X", s=90, c="black",
                    edgecolors="white", label="EM means")
    axes[1].set_title("after EM: MAP labels")
    if posterior_labels is not None:
        disagree = np.asarray(posterior_labels) != np.asarray(em.map_labels)
        axes[2].scatter(*points.T, c=label_colors(posterior_labels), s=8, alpha=0.7,
                        linewidths=0)
        if posterior_means is not None:
            axes[2].scatter(*projection.means(posterior_means).T, marker="P", s=90, c="black",
                            edgecolors="white", label="posterior means")
        for ax in axes[1:]:
            ax.scatter(*points[disagree].T, s=40, facecolors="none", edgecolors="black",
                       linewidths=1.0, label=f"EM != MCMC ({disagree.sum()})")
        axes[2].set_title("MCMC: posterior MAP labels")
    for ax in axes:
        ax.set_xlabel(projection.axis_labels[0])
        if ax.get_legend_handles_labels()[0]:  # no true means without truth
            ax.legend(loc="best", fontsize=7)
    axes[0].set_ylabel(projection.axis_labels[1])
    return fig
