"""Wall time of whole sweeps, cold and warm compile caches, this code against a reference.

For each config (default: ``separation`` and ``calibration --quick``) and each code version
(the working tree, and a git reference such as ``main`` extracted with ``git archive``),
``gmm-compare run`` runs twice in fresh processes with private cache directories: cold
(empty PyTensor compile directory, ``PYTENSOR_FLAGS=base_compiledir=...``, and empty
numba cache, ``NUMBA_CACHE_DIR``), then warm (same directories, filled by the cold run).
Each run writes to a fresh run directory, so nothing is resumed. Prints wall seconds, the
load average before each run, the cold / warm ratio and the reference / current ratios.

Usage::

    python benchmarks/sweep_timings.py [--reference main] [--which both|reference|current]
        [--current-ref HEAD] [--configs separation calibration:quick] [--executor serial]
        [--sampler pymc|nutpie|numpyro] [--json out.json]

``--sampler`` runs each bundled config with ``[mcmc] sampler`` set to that NUTS
implementation (a copy of the config with the key replaced or added; the run name gets
the sampler as a suffix), so the samplers' whole-sweep times compare on the same configs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIGS = ("separation", "calibration:quick")


def extract_reference(reference: str, into: Path) -> Path:
    """The tree of git ``reference`` extracted into ``into`` (``git archive``)."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", reference],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def load_average() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def with_sampler(code: Path, name: str, sampler: str, into: Path) -> Path:
    """A copy of bundled config ``name`` of ``code`` whose ``[mcmc] sampler`` is ``sampler``."""
    lines = (code / "experiments" / "configs" / f"{name}.toml").read_text().splitlines()
    lines = [line for line in lines if not line.replace(" ", "").startswith("sampler=")]
    assignment = f'sampler = "{sampler}"'
    if "[mcmc]" in lines:
        lines.insert(lines.index("[mcmc]") + 1, assignment)
    else:
        lines += ["", "[mcmc]", assignment]
    lines = [f'name = "{name}-{sampler}"' if line == f'name = "{name}"' else line
             for line in lines]
    into.mkdir(parents=True, exist_ok=True)
    path = into / f"{name}-{sampler}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_sweep(code: Path, config: str, out: Path, caches: Path, executor: str,
              sampler: str | None = None) -> float:
    """Wall seconds of one ``gmm-compare run`` of ``config`` (``name:quick`` adds --quick)."""
    name, _, quick = config.partition(":")
    target = str(with_sampler(code, name, sampler, out.parent / "configs")) if sampler else name
    command = [sys.executable, "-m", "experiments", "run", target, "--out", str(out),
               "--executor", executor]
    if quick:
        command.append("--quick")
    env = os.environ | {
        "PYTHONPATH": str(code),
        "PYTENSOR_FLAGS": f"base_compiledir={caches / 'pytensor'}",
        "NUMBA_CACHE_DIR": str(caches / "numba"),
    }
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, cwd=code, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(label: str, code: Path, config: str, work: Path, executor: str,
            sampler: str | None = None) -> list[dict]:
    """A cold and a warm sweep of ``config`` with ``code``, each with its load average."""
    caches = work / f"{label}-{config.replace(':', '-')}-caches"
    rows = []
    for state in ("cold", "warm"):
        load = load_average()
        seconds = run_sweep(code, config, work / f"{label}-{config}-{state}".replace(":", "-"),
                            caches, executor, sampler)
        rows.append({"code": label, "config": config, "cache": state, "seconds": seconds,
                     "sampler": sampler or "config's", "load_before": load,
                     "load_after": load_average()})
        print(f"{label:9s} {config:18s} {state}: {seconds:7.1f} s  (load {load} -> "
              f"{rows[-1]['load_after']})", flush=True)
    print(f"{label:9s} {config:18s} cold / warm = {rows[0]['seconds'] / rows[1]['seconds']:.2f}",
          flush=True)
    return rows


def ratios(rows: list[dict]) -> None:
    """Print reference / current for every config and cache state measured with both."""
    seconds = {(r["code"], r["config"], r["cache"]): r["seconds"] for r in rows}
    for (code, config, cache), value in seconds.items():
        if code == "current" and ("reference", config, cache) in seconds:
            print(f"{config:18s} {cache}: reference / current = "
                  f"{seconds['reference', config, cache] / value:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default="main", help="git reference to compare with")
    parser.add_argument("--current-ref", help="git reference to run as the current code "
                        "(default: the working tree)")
    parser.add_argument("--which", choices=("both", "reference", "current"), default="both")
    parser.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS))
    parser.add_argument("--executor", default="serial")
    parser.add_argument("--sampler", choices=("pymc", "nutpie", "numpyro"),
                        help="set [mcmc] sampler in each config (default: the config's own)")
    parser.add_argument("--json", type=Path, help="write the rows as JSON")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sweep-timings-"))
    codes = {}
    if args.which in ("both", "reference"):
        codes["reference"] = extract_reference(args.reference, work / "reference-code")
    if args.which in ("both", "current"):
        codes["current"] = (extract_reference(args.current_ref, work / "current-code")
                            if args.current_ref else ROOT)
    rows = []
    for config in args.configs:
        for label, code in codes.items():
            rows += measure(label, code, config, work, args.executor, args.sampler)
    ratios(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
