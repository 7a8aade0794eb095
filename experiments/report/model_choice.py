"""The report's "Choice of the number of components" section, as mclust users expect.

From the ``selection`` rows of results.csv and the files the ``selection`` method saves
per replicate (:mod:`experiments.measure.selection`; names in
:mod:`experiments.run.rundir`), never refitting:

- the table of how often each criterion chose the true K, per cell;
- BIC and ICL against K, one line per covariance type (mclust's ``plot(mclustBIC)``;
  mclust's model names in the legend; lower is better in this package's sign, and a
  degenerate or failed fit is a gap, as mclust's NA);
- ArviZ's PSIS-LOO comparison of the Bayesian fits (``az.plot_compare`` and its table);
- for the fit BIC chooses over every K and type: classification uncertainty
  (1 - max_k gamma_ik, mclust's ``plot.Mclust(what = "uncertainty")``) and the mixture
  density's contours (``what = "density"``), on the first two coordinates.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from scipy.stats import multivariate_normal

from emgmm.io import load_model
from experiments.report.calibration_figures import selection_table
from experiments.report.em_figures import COMPONENT_COLORS
from experiments.report.render import FigureWriter, note, table_html
from experiments.run.rundir import ReplicateFiles

MCLUST_NAMES = {"spherical": "VII", "diag": "VVI", "tied": "EEE", "full": "VVV"}
GRID_POINTS = 120


def plot_criteria(table: pd.DataFrame) -> Figure:
    """BIC and ICL against K, one line per covariance type; the lowest point circled."""
    fig = Figure(figsize=(9.0, 3.4), layout="constrained")
    for ax, criterion in zip(fig.subplots(1, 2), ("bic", "icl"), strict=True):
        values = table[criterion].to_numpy(float)
        finite = np.isfinite(values)
        for index, (kind, rows) in enumerate(table.groupby("covariance_type", sort=False)):
            y = rows[criterion].to_numpy(float)
            y = np.where(np.isfinite(y), y, np.nan)  # a missing fit is a gap
            ax.plot(rows["n_components"], y, marker="o", ms=4,
                    color=COMPONENT_COLORS[index % len(COMPONENT_COLORS)],
                    label=f"{kind} ({MCLUST_NAMES.get(kind, kind)})")
        if finite.any():
            best = table.iloc[int(np.nanargmin(np.where(finite, values, np.nan)))]
            ax.scatter([best["n_components"]], [best[criterion]], s=140, facecolors="none",
                       edgecolors="black", zorder=4, label="lowest")
        ax.set_xlabel("number of components K")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"{criterion.upper()} (lower is better)")
        ax.grid(alpha=0.3)
    fig.axes[0].legend(fontsize=7)
    return fig


def marginal_2d(model):
    """Weights, means and covariances of the chosen mixture on its first two coordinates
    (the marginal of a Gaussian mixture is the mixture of the marginals)."""
    covariances = model.params_.full_covariances()
    return model.weights_, model.means_[:, :2], covariances[:, :2, :2]


def mixture_density_2d(points: np.ndarray, weights, means, covariances) -> np.ndarray:
    """sum_k pi_k N(x | mu_k, Sigma_k) at ``points`` (n, 2)."""
    return sum(w * multivariate_normal(m, c).pdf(points)
               for w, m, c in zip(weights, means, covariances, strict=True))


def plot_classification(X: np.ndarray, model) -> Figure:
    """Left: points by MAP label, sized by the classification uncertainty 1 - max gamma.
    Right: contours of the chosen mixture's density with the data (first two
    coordinates; for 1-D data the density curve over a histogram)."""
    responsibilities = model.predict_proba(X)
    labels = responsibilities.argmax(axis=1)
    uncertainty = 1.0 - responsibilities.max(axis=1)
    colors = np.asarray(COMPONENT_COLORS)[labels % len(COMPONENT_COLORS)]
    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    if X.shape[1] == 1:
        left.scatter(X[:, 0], uncertainty, c=colors, s=10)
        left.set_ylabel("uncertainty 1 - max gamma")
        grid = np.linspace(X.min(), X.max(), 400)
        density = np.exp(model.score_samples(grid[:, None]))
        right.hist(X[:, 0], bins="auto", density=True, color="0.85")
        right.plot(grid, density, color="black")
        right.set_ylabel("density")
    else:
        sizes = 4.0 + 120.0 * uncertainty / max(uncertainty.max(), 1e-12)
        left.scatter(X[:, 0], X[:, 1], c=colors, s=sizes, alpha=0.7, linewidths=0)
        left.set_ylabel("x2")
        weights, means, covariances = marginal_2d(model)
        xs = np.linspace(*_padded(X[:, 0]), GRID_POINTS)
        ys = np.linspace(*_padded(X[:, 1]), GRID_POINTS)
        gx, gy = np.meshgrid(xs, ys)
        density = mixture_density_2d(np.column_stack([gx.ravel(), gy.ravel()]), weights,
                                     means, covariances).reshape(gx.shape)
        right.scatter(X[:, 0], X[:, 1], s=3, color="0.6", linewidths=0)
        right.contour(gx, gy, np.log(np.maximum(density, 1e-300)), levels=10, cmap="viridis")
        right.set_ylabel("x2")
    kind = model.covariance_type
    left.set_title(f"classification uncertainty ({kind}, K = {model.n_components})")
    right.set_title("density of the chosen mixture" + (" (log contours)" if X.shape[1] > 1
                                                        else ""))
    for ax in (left, right):
        ax.set_xlabel("x1")
        ax.grid(alpha=0.3)
    return fig


def _padded(values: np.ndarray) -> tuple[float, float]:
    low, high = float(values.min()), float(values.max())
    pad = 0.08 * (high - low or 1.0)
    return low - pad, high + pad


def plot_loo_compare(comparison: pd.DataFrame):
    """``az.plot_compare`` of the saved comparison table."""
    return az.plot_compare(comparison, backend="matplotlib")


def _read_csv(path, **options) -> pd.DataFrame | None:
    try:
        return pd.read_csv(path, **options) if path.is_file() else None
    except (pd.errors.EmptyDataError, pd.errors.ParserError):
        return None


def replicate_pictures(rep, writer: FigureWriter) -> list[str]:
    """The model-choice figures of one replicate (those whose files exist)."""
    files = ReplicateFiles(rep.path)
    prefix = f"{rep.anchor}-choice"
    parts = []
    table = _read_csv(files.selection_table)
    if table is not None:
        parts.append(writer.embed(
            lambda: plot_criteria(table), f"{prefix}-criteria",
            "BIC and ICL of every K and covariance type (mclust's model names in brackets; "
            "lower is better; a gap is a degenerate or failed fit, never chosen)."))
    comparison = _read_csv(files.loo_compare, index_col="model")
    if comparison is not None:
        parts.append(writer.embed(
            lambda: plot_loo_compare(comparison), f"{prefix}-loo",
            "PSIS-LOO expected log predictive density of the Bayesian fit for each K "
            "(ArviZ's compare plot: higher is better; bars are standard errors)."))
        parts.append(table_html(comparison.reset_index()))
    if files.selected_model.is_file() and rep.X is not None:
        model = load_model(files.selected_model)
        parts.append(writer.embed(
            lambda: plot_classification(rep.X, model), f"{prefix}-classification",
            "The fit BIC chooses over every K and type: points sized by their "
            "classification uncertainty (large = unsure), and its density."))
    return parts


def model_choice_section(run, writer: FigureWriter) -> str:
    """The section's HTML ('' when the run chose no K)."""
    results = run.results
    if results is None or "method" not in results or not (results["method"] == "selection").any():
        return ""
    grid = [axis for axis in run.grid_axes if axis in results.columns]
    parts = ['<h2 id="model-choice">Choice of the number of components</h2>']
    table = selection_table(results, grid)
    if table is not None:
        parts.append(table_html(table))
    shown = set()
    for rep in run.replicates:
        if rep.cell_id in shown or len(shown) >= run.config.report.max_detailed_cells:
            continue
        pictures = replicate_pictures(rep, writer)
        if pictures:
            shown.add(rep.cell_id)
            parts.append(f"<h3>{rep.cell_id}, replicate {rep.replicate}</h3>")
            parts += pictures
    if not shown:
        parts.append(note("No selection.csv was found (runs from before it was saved): "
                          "only the table is shown.", kind="info"))
    return "\n".join(parts)
