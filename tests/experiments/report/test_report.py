"""Tests of experiments.report: pure pieces against independent implementations, the page
built from a run directory with real fits, its speed at 50+ cells, and a headless-Chromium
check that every image loads without console errors."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.report import build_report, parallel
from experiments.report.html import detailed_replicates
from experiments.report.load import load_run
from experiments.report.render import FigureWriter
from tests.experiments.report import fixtures as report_fixtures

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
IMG_SRC = re.compile(r'<img src="data:image/png;base64,([^"]+)"')


# ---------------------------------------------------------------------------------------
# Fixtures: run directories with real fits
# ---------------------------------------------------------------------------------------


# em_only_run and mcmc_run: conftest.py


@pytest.fixture(scope="module")
def file_run(tmp_path_factory) -> Path:
    """A data-file run with a label column, a test split and a real posterior (K = 3)."""
    return report_fixtures.write_file_run(tmp_path_factory.mktemp("file"))


def embedded_images(html: str) -> list[bytes]:
    return [base64.b64decode(data) for data in IMG_SRC.findall(html)]


def anchors_and_links(html: str) -> tuple[set[str], set[str]]:
    ids = set(re.findall(r'id="([^"]+)"', html))
    links = set(re.findall(r'href="#([^"]+)"', html))
    return ids, links


# ---------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------


def test_build_report_rejects_a_directory_that_is_not_a_run(tmp_path):
    with pytest.raises(ValueError, match="not a run directory"):
        build_report(tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        build_report(tmp_path / "missing")


def test_em_only_report_renders_every_cell(em_only_run):
    index = build_report(em_only_run)
    assert index == em_only_run / "report" / "index.html"
    html = index.read_text()
    run = load_run(em_only_run)
    ids, links = anchors_and_links(html)
    assert links <= ids, f"dangling links: {links - ids}"
    for rep in run.replicates:
        assert rep.anchor in ids and rep.anchor in links
    assert html.count("EM part only") == len(run.replicates)
    figures = sorted((em_only_run / "report" / "figures").glob("*.png"))
    names = {f.name for f in figures}
    for rep in run.replicates:
        for suffix in ("em-snapshots", "em-loglik", "labels"):
            assert f"{rep.anchor}-{suffix}.png" in names
    assert "sweep-overlap.png" in names
    images = embedded_images(html)
    assert len(images) == len(figures)
    assert all(image.startswith(PNG_MAGIC) for image in images)
    assert sorted(images) == sorted(f.read_bytes() for f in figures)


def test_report_reads_artifacts_only_and_is_deterministic(em_only_run):
    before = {p: p.stat().st_mtime_ns for p in (em_only_run / "cells").rglob("*")}
    first = build_report(em_only_run).read_text()
    second = build_report(em_only_run).read_text()
    assert first == second
    assert before == {p: p.stat().st_mtime_ns for p in (em_only_run / "cells").rglob("*")}


def test_failed_mcmc_and_missing_em_still_render(em_only_run, tmp_path):
    run_dir = shutil.copytree(em_only_run, tmp_path / "run")
    first, second = sorted((run_dir / "cells").iterdir())
    (second / "rep-0" / "em_fit.npz").unlink()
    (run_dir / "summary.csv").unlink()
    html = build_report(run_dir).read_text()
    assert "summary.csv is missing" in html
    comparison = html.split('id="comparison"')[1].split("</table>")[0]
    assert "<th>ari</th>" in comparison  # aggregated from results.csv instead
    assert "sampling disabled in this fixture" in html  # the recorded MCMC error
    assert "em_fit.npz is missing" in html
    assert "EM pictures unavailable" in html


@pytest.mark.slow
def test_mcmc_report_has_the_arviz_diagnostics(mcmc_run):
    html = build_report(mcmc_run).read_text()
    run = load_run(mcmc_run)
    with_mcmc = [rep for rep in run.replicates if rep.mcmc_path is not None]
    assert len(with_mcmc) == 1
    anchor = with_mcmc[0].anchor
    names = {p.name for p in (mcmc_run / "report" / "figures").glob("*.png")}
    for suffix in ("trace", "rank", "marginals-weights", "marginals-means", "energy", "ppc",
                   "membership", "labels"):
        assert f"{anchor}-{suffix}.png" in names, suffix
    for column in ("r_hat", "ess_bulk", "ess_tail", "mcse_mean"):
        assert f"<th>{column}</th>" in html
    import arviz as az

    from experiments.report.load import open_mcmc

    with open_mcmc(with_mcmc[0].mcmc_path) as tree:
        summary = az.summary(tree, var_names=["weights"], round_to="none")
    ess = f"{float(summary['ess_bulk'].iloc[0]):.4g}"
    assert re.search(rf'<td class="[a-z ]*num">{re.escape(ess)}</td>', html)
    assert "could not be drawn" not in html
    assert "EM part only" in html  # the second cell has no MCMC


def sequential_section(run, writer, detailed, index: int) -> str:
    from experiments.report.sections import replicate_section

    rep = run.replicates[index]
    return replicate_section(rep, writer, (rep.cell_id, rep.replicate) in detailed, 400.0)


@pytest.mark.slow
def test_detailed_sections_drawn_in_worker_processes_give_the_same_page(mcmc_run, tmp_path):
    # Three detailed sections, two with MCMC: one of those is drawn by a worker process.
    run_dir = report_fixtures.replicate_cells(shutil.copytree(mcmc_run, tmp_path / "run"), 1)
    build_report(run_dir, processes=1)
    sequential = report_fixtures.report_files(run_dir)
    build_report(run_dir, processes=2)
    assert report_fixtures.report_files(run_dir) == sequential
    assert len(sequential[1]) >= 20
    run = load_run(run_dir)
    detailed = detailed_replicates(run)
    (tmp_path / "figures").mkdir()
    writer = FigureWriter(tmp_path / "figures")
    with parallel.ReplicateSections(run, writer, detailed, 400.0, processes=2) as sections:
        assert sections.n_processes == 2 and len(sections.futures) == 1  # one to the worker
        assert sections.html()[0] == sequential_section(run, writer, detailed, 0)


def test_sections_of_a_dead_worker_are_drawn_here(em_only_run, tmp_path):
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from experiments.report.parallel import ReplicateSections, section_processes

    run = load_run(em_only_run)
    writer = FigureWriter(tmp_path)
    detailed = detailed_replicates(run)
    assert len(detailed) == 2 and section_processes(2, 8) == 2 and section_processes(1) == 1
    assert section_processes(0, 8) == 1  # EM-only sections: all drawn here
    with ReplicateSections(run, writer, detailed, 400.0, processes=1) as here:
        expected = here.html()
    dead = Future()
    dead.set_exception(BrokenProcessPool("a worker died"))
    with ReplicateSections(run, writer, detailed, 400.0, processes=1) as sections:
        sections.futures = {1: dead}
        assert sections.html() == expected


@pytest.mark.slow
def test_fifty_cells_stay_navigable(mcmc_run, tmp_path):
    run_dir = report_fixtures.replicate_cells(shutil.copytree(mcmc_run, tmp_path / "big"), 50)
    html = build_report(run_dir).read_text()
    run = load_run(run_dir)
    ids, links = anchors_and_links(html)
    assert all(rep.anchor in ids and rep.anchor in links for rep in run.replicates)
    detailed = html.count('class="cell"') - html.count("Figures omitted for this cell")
    assert detailed == run.config.report.max_detailed_cells


# ---------------------------------------------------------------------------------------
# A real `gmm-compare run`
# ---------------------------------------------------------------------------------------

TINY_CONFIG = """\
[experiment]
name = "tiny-sweep"
seed = 7
replicates = 1
methods = ["em", "mcmc", "vb", "selection"]

[data]
n_samples = 200
n_features = 2
n_components = 3
covariance_shape = "full"
overlap = [0.005, 0.05]

[em]
covariance_type = "full"
n_init = 2

[mcmc]
draws = 200
tune = 200
chains = 2

[vb]
draws = 200

[selection]
enabled = true
k_values = [2, 3, 4]
loo = false
"""


@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("real")
    config = root / "tiny.toml"
    config.write_text(TINY_CONFIG)
    out = root / "run"
    completed = subprocess.run(
        [sys.executable, "-m", "experiments", "run", str(config), "--out", str(out)],
        capture_output=True, text=True, timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return out


@pytest.mark.slow
def test_report_of_a_real_run(real_run):
    index = real_run / "report" / "index.html"
    assert index.exists(), "gmm-compare run should build the report"
    html = index.read_text()
    assert "could not be drawn" not in html
    results = pd.read_csv(real_run / "results.csv")
    for cell_id in results["cell_id"].unique():
        assert cell_id in html
    figures = {p.stem for p in (real_run / "report" / "figures").iterdir()}
    assert "sweep-overlap" in figures
    # the sections of the other methods: the choice of K and variational Bayes
    assert 'id="model-choice"' in html
    assert any(name.endswith("-choice-criteria") for name in figures)
    assert any(name.endswith("-vb-pruning") for name in figures)
    rebuilt = subprocess.run(
        [sys.executable, "-m", "experiments", "report", str(real_run)],
        capture_output=True, text=True, timeout=300,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    assert index.read_text() == html


# ---------------------------------------------------------------------------------------
# A data file: no truth
# ---------------------------------------------------------------------------------------

TRUTH_COLUMNS = ("log_likelihood_truth", "weights_error", "means_error", "covariances_error",
                 "ari", "accuracy", "coverage")


def test_data_file_results_leave_truth_empty_and_fill_the_no_truth_columns(file_run):
    results = pd.read_csv(file_run / "results.csv")
    assert results["method"].tolist() == ["em", "mcmc"] and (results["error"].isna()).all()
    for column in TRUTH_COLUMNS:
        assert results[column].isna().all(), column  # empty, never zero
    em, mcmc = (results.set_index("method").loc[m] for m in ("em", "mcmc"))
    assert np.isfinite([em["bic"], em["icl"], em["heldout_lpd"], mcmc["heldout_lpd"],
                        mcmc["elpd_loo"], mcmc["pareto_k_max"]]).all()
    assert em["icl"] >= em["bic"]  # the entropy penalty is never negative
    # separated classes: both fits recover them, and they agree with each other
    assert em["class_accuracy"] > 0.9 and mcmc["class_accuracy"] > 0.9
    assert mcmc["em_mcmc_ari"] > 0.8
    # the posterior predictive density of the held-out rows is close to EM's plug-in one
    assert abs(mcmc["heldout_lpd"] - em["heldout_lpd"]) < 0.2
    data = np.load(next(file_run.glob("cells/*/rep-0/data.npz")))
    assert data["X"].shape == (120, 2) and data["X_test"].shape == (30, 2)
    assert data["weights"].size == 0 and data["class_names"].tolist() == ["a", "b", "c"]


def test_data_file_report_has_the_no_truth_section_and_no_truth_marks(file_run):
    html = build_report(file_run).read_text()
    assert '<h2 id="no-truth">Fit without truth</h2>' in html and 'href="#no-truth"' in html
    assert "no truth" in html and "could not be drawn" not in html
    assert "true value (black bar)" not in html and "calibration of both" not in html
    assert 'id="calibration"' not in html
    figures = {p.stem for p in (file_run / "report" / "figures").iterdir()}
    assert {"no-truth-pareto-k", "no-truth-ppc"} <= figures
    assert "known classes of the label column" in html
    assert "MCMC accuracy vs classes" in html and "elpd LOO" in html


def test_data_file_with_three_features_gets_a_pairs_plot(tmp_path):
    run_dir = report_fixtures.write_file_run(tmp_path, n_features=3, with_mcmc=False,
                                             n_components="[2, 3]")
    html = build_report(run_dir).read_text()
    figures = {p.stem for p in (run_dir / "report" / "figures").iterdir()}
    assert {f for f in figures if f.endswith("-pairs")} == {
        "cell-c00-n-components-2-rep-0-pairs", "cell-c01-n-components-3-rep-0-pairs"}
    assert "no-truth-criteria" in figures  # BIC, ICL and held-out density against K
    assert "K by BIC" in html and "Fit without truth" in html


# ---------------------------------------------------------------------------------------
# Headless Chromium
# ---------------------------------------------------------------------------------------

PROBE = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || e)), true);
const __consoleError = console.error;
console.error = (...a) => { window.__errors.push(a.join(' ')); __consoleError(...a); };
window.addEventListener('load', () => {
  const images = Array.from(document.images);
  const broken = images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt);
  const out = document.createElement('pre');
  out.id = 'probe-result';
  const sections = Array.from(document.querySelectorAll('h2[id]')).map(h => h.id);
  out.textContent = JSON.stringify({images: images.length, broken: broken,
                                    errors: window.__errors, sections: sections});
  document.body.appendChild(out);
});
</script>"""


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def run_chromium(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    binary = chromium_binary()
    base = [binary, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--disable-dev-shm-usage", "--enable-logging=stderr", "--v=0",
            f"--user-data-dir={tmp_path / 'chromium-profile'}"]
    return subprocess.run(base + args, capture_output=True, text=True, timeout=180)


@pytest.fixture
def real_run_with_loo(real_run, tmp_path) -> Path:
    """``real_run`` with an ArviZ PSIS-LOO comparison (``az.compare`` of posteriors for
    K = 2, 3, 4, in the layout the ``selection`` method saves) beside its first
    replicate's criteria, so that the page has every picture of the choice of K."""
    import arviz as az

    from experiments.run.rundir import ReplicateFiles

    run_dir = shutil.copytree(real_run, tmp_path / "run")
    rng = np.random.default_rng(2)
    trees = {f"K={k}": az.from_dict({
        "posterior": {"mu": rng.normal(size=(2, 100))},
        "log_likelihood": {"obs": rng.normal(-3.0 + 0.1 * k, 0.2, size=(2, 100, 50))}})
        for k in (2, 3, 4)}
    rep = load_run(run_dir).replicates[0]
    az.compare(trees).to_csv(ReplicateFiles(rep.path).loo_compare, index_label="model")
    return run_dir


@pytest.fixture
def file_run_over_k(tmp_path) -> Path:
    """A data file fitted by EM for K = 1, 2, 3: the choice of K from the cells."""
    return report_fixtures.write_file_run(tmp_path, with_mcmc=False, n_components="[1, 2, 3]")


# the report's sections each page must show in the browser (ids of its <h2>)
BROWSER_SECTIONS = {
    "mcmc_run": {"summary", "warnings", "comparison", "cells"},
    "real_run_with_loo": {"summary", "warnings", "comparison", "sweeps", "model-choice",
                          "cells"},
    "file_run": {"summary", "warnings", "comparison", "no-truth", "cells"},
    "file_run_over_k": {"summary", "warnings", "comparison", "no-truth", "model-choice",
                        "cells"},
}


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("run_fixture", list(BROWSER_SECTIONS))
def test_page_loads_in_headless_chromium(run_fixture, request, tmp_path):
    if chromium_binary() is None:
        pytest.skip("no Chromium found and none could be installed (apt-get install chromium)")
    run_dir = request.getfixturevalue(run_fixture)
    html = build_report(run_dir).read_text()
    if run_fixture == "real_run_with_loo":  # every picture of the choice of K
        figures = {p.stem for p in (run_dir / "report" / "figures").iterdir()}
        for suffix in ("criteria", "loo", "classification"):
            assert any(name.endswith(f"-choice-{suffix}") for name in figures), suffix
    probe_page = tmp_path / "probe.html"
    probe_page.write_text(html.replace("<head>", "<head>" + PROBE, 1))
    completed = run_chromium(["--virtual-time-budget=20000", "--dump-dom",
                              probe_page.as_uri()], tmp_path)
    match = re.search(r'<pre id="probe-result">(.*?)</pre>', completed.stdout, re.S)
    assert match, f"no probe result; chromium stderr: {completed.stderr[-2000:]}"
    result = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert result["images"] == len(embedded_images(html)) > 0
    assert result["broken"] == []
    assert result["errors"] == []
    assert BROWSER_SECTIONS[run_fixture] <= set(result["sections"])
    # the page has no scripts of its own: any console message is unexpected
    console_messages = [line for line in completed.stderr.splitlines() if ":CONSOLE" in line]
    assert console_messages == []


# ---------------------------------------------------------------------------------------
# docs/em-for-gmm.md names only functions that exist
# ---------------------------------------------------------------------------------------


def test_every_function_named_in_the_em_document_exists():
    import importlib

    text = (Path(__file__).parents[3] / "docs" / "em-for-gmm.md").read_text()
    names = sorted(set(re.findall(r"`((?:emgmm|bayes|experiments)(?:\.[A-Za-z_]\w*)+)", text)))
    assert len(names) > 30
    missing = []
    for name in names:
        parts = name.split(".")
        for split in range(len(parts), 0, -1):
            try:
                target = importlib.import_module(".".join(parts[:split]))
            except ImportError:
                continue
            for attribute in parts[split:]:
                target = getattr(target, attribute, None)
            if target is None:
                missing.append(name)
            break
    assert missing == []
