"""The report's "Choice of the number of components" section, as mclust users expect.

Whenever a run chooses K, never refitting. With the ``selection`` method, from its rows of
results.csv and the files it saves per replicate (:mod:`experiments.measure.selection`;
names in :mod:`experiments.run.rundir`):

- the table of the K each criterion chose per cell (and how often it was the true K);
- BIC and ICL against K, one line per covariance type (mclust's ``plot(mclustBIC)``;
  mclust's model names in the legend; lower is better in this package's sign, and a
  degenerate or failed fit is a gap, as mclust's NA);
- ArviZ's PSIS-LOO comparison of the Bayesian fits (``az.plot_compare`` and its table);
- for the fit BIC chooses over every K and type: classification uncertainty
  (1 - max_k gamma_ik, mclust's ``plot.Mclust(what = "uncertainty")``) and the mixture
  density's contours (``what = "density"``), on the first two coordinates.

On a data file whose cells are values of K (``gmm-compare run --data FILE --components
1-6``), the same pictures from the cells: the EM rows' BIC and ICL per K and covariance
type, ``az.compare`` of the cells' saved posteriors (first replicate), and the fit of the
cell of lowest BIC (:func:`cells_section`).
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from scipy.stats import multivariate_normal

from emgmm.io import load_model
from experiments.report.em_figures import COMPONENT_COLORS
from experiments.report.load import open_mcmc
from experiments.report.mcmc_figures import has_group
from experiments.report.no_truth_section import is_data_file_run
from experiments.report.render import FigureWriter, note, table_html
from experiments.run.rundir import ReplicateFiles

MCLUST_NAMES = {"spherical": "VII", "diag": "VVI", "tied": "EEE", "full": "VVV"}
GRID_POINTS = 120
SELECTION_METHODS = ("bic", "icl", "loo")
CRITERIA_CAPTION = ("BIC and ICL of every K and covariance type (mclust's model names in "
                    "brackets; lower is better; a gap is a degenerate or failed fit, never "
                    "chosen). Read: the lowest point of each panel is the choice; curves "
                    "that flatten past some K mean more components buy little.")
LOO_CAPTION = ("PSIS-LOO expected log predictive density of the Bayesian fit for each K "
               "(ArviZ's compare plot: higher is better; bars are standard errors). Read: "
               "a fit whose difference to the best is within about two standard errors "
               "predicts as well.")
CLASSIFICATION_CAPTION = ("Left: points sized by their classification uncertainty "
                          "1 - max_k gamma_ik (large = unsure; they sit where components "
                          "overlap). Right: contours of the mixture's log density.")


def selection_table(results: pd.DataFrame, grid: list[str]) -> pd.DataFrame | None:
    """Per cell: the most frequent K of each criterion and, when the true K is known, the
    fraction of replicates choosing it."""
    rows = results[results["method"] == "selection"]
    if rows.empty:
        return None
    has_truth = "k_true" in rows and rows["k_true"].notna().any()
    out = []
    for cell_id, frame in rows.groupby("cell_id", sort=False):
        record = {"cell": cell_id, **{g: frame[g].iloc[0] for g in grid},
                  "replicates": len(frame)}
        if has_truth:
            record["K true"] = int(frame["k_true"].dropna().iloc[0])
        for method in SELECTION_METHODS:
            column = f"k_{method}"
            if column in frame and frame[column].notna().any():
                chosen = frame[column].dropna().astype(int)
                if has_truth:
                    record[f"{method.upper()} correct"] = float(
                        np.mean(chosen == record["K true"]))
                record[f"{method.upper()} usual K"] = int(chosen.mode().iloc[0])
        out.append(record)
    return pd.DataFrame.from_records(out)


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
        parts.append(writer.embed(lambda: plot_criteria(table), f"{prefix}-criteria",
                                  CRITERIA_CAPTION))
    comparison = _read_csv(files.loo_compare, index_col="model")
    if comparison is not None:
        parts.append(writer.embed(lambda: plot_loo_compare(comparison), f"{prefix}-loo",
                                  LOO_CAPTION))
        parts.append(table_html(comparison.reset_index()))
    if files.selected_model.is_file() and rep.X is not None:
        model = load_model(files.selected_model)
        parts.append(writer.embed(
            lambda: plot_classification(rep.X, model), f"{prefix}-classification",
            "The fit BIC chooses over every K and type. " + CLASSIFICATION_CAPTION))
    return parts


def cells_choose_k(run) -> bool:
    """Whether the run chooses K across its cells: a data file with several values of
    ``n_components``."""
    results = run.results
    return (is_data_file_run(run) and results is not None
            and {"n_components", "bic", "icl"} <= set(results.columns)
            and results["n_components"].nunique() > 1)


def cell_criteria_table(results: pd.DataFrame, covariance_type: str) -> pd.DataFrame:
    """BIC and ICL of the ``em`` rows, mean over replicates, per covariance type (the grid
    column, else the run's ``covariance_type``) and K: :func:`plot_criteria`'s table."""
    rows = results[results["method"] == "em"]
    kinds = rows["covariance_type"] if "covariance_type" in rows else pd.Series(
        covariance_type, index=rows.index)
    criteria = rows[["bic", "icl"]].apply(pd.to_numeric, errors="coerce")
    table = criteria.groupby([kinds.rename("covariance_type"), rows["n_components"]],
                             sort=True).mean().reset_index()
    return table.fillna({"bic": np.inf, "icl": np.inf})  # a failed cell: a gap


def cell_label(row: pd.Series, types_vary: bool) -> str:
    """``K=3`` (``K=3, full`` when the covariance type varies): a cell in the compare plot."""
    label = f"K={int(row['n_components'])}"
    return f"{label}, {row['covariance_type']}" if types_vary else label


def cells_loo_comparison(run) -> pd.DataFrame | None:
    """``az.compare`` of the first replicate's posterior of every cell that saved one with
    its ``log_likelihood`` group (None with fewer than two)."""
    rows = run.results.drop_duplicates("cell_id").set_index("cell_id")
    types_vary = "covariance_type" in rows and rows["covariance_type"].nunique() > 1
    paths = {}
    for rep in run.replicates:
        if rep.mcmc_path is not None and rep.cell_id in rows.index:
            paths.setdefault(cell_label(rows.loc[rep.cell_id], types_vary), rep.mcmc_path)
    trees = {label: open_mcmc(path) for label, path in paths.items()}
    try:
        usable = {label: tree for label, tree in trees.items()
                  if has_group(tree, "log_likelihood")}
        return az.compare(usable) if len(usable) > 1 else None
    finally:
        for tree in trees.values():
            tree.close()


def lowest_bic_replicate(run):
    """The first replicate, with its EM model saved, of the cell of lowest mean BIC."""
    rows = run.results[run.results["method"] == "em"]
    bic = pd.to_numeric(rows["bic"], errors="coerce").groupby(rows["cell_id"]).mean()
    if bic.dropna().empty:
        return None
    best = bic.idxmin()
    from experiments.run.rundir import ReplicateFiles

    return next((rep for rep in run.replicates if rep.cell_id == best and rep.X is not None
                 and ReplicateFiles(rep.path).em_model.is_file()), None)


def cells_section(run, writer: FigureWriter) -> list[str]:
    """The pictures of a run whose cells are values of K (see the module docstring)."""
    table = cell_criteria_table(run.results, run.config.em.covariance_type)
    parts = [note("The K each criterion chooses per replicate is in the table of "
                  "\"Fit without truth\"; here the criteria of every cell and the chosen "
                  "fit.", kind="info"),
             writer.embed(lambda: plot_criteria(table), "choice-cells-criteria",
                          CRITERIA_CAPTION)]
    comparison = cells_loo_comparison(run)
    if comparison is not None:
        parts.append(writer.embed(lambda: plot_loo_compare(comparison), "choice-cells-loo",
                                  LOO_CAPTION))
        parts.append(table_html(comparison.reset_index(names="model")))
    rep = lowest_bic_replicate(run)
    if rep is not None:
        model = rep.em_model()
        parts.append(f"<h3>{rep.cell_id}, replicate {rep.replicate}: lowest BIC</h3>")
        parts.append(writer.embed(lambda: plot_classification(rep.X, model),
                                  "choice-cells-classification",
                                  "The EM fit of the cell of lowest BIC. "
                                  + CLASSIFICATION_CAPTION))
    return parts


def model_choice_section(run, writer: FigureWriter) -> str:
    """The section's HTML ('' when the run chose no K)."""
    results = run.results
    if cells_choose_k(run):
        return "\n".join(['<h2 id="model-choice">Choice of the number of components</h2>',
                          *cells_section(run, writer)])
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
