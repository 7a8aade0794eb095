"""What a config needs installed: checked by ``gmm-compare validate`` and ``run`` before
anything is written, so that a missing optional sampler fails in one line instead of in
every replicate."""

from __future__ import annotations

from experiments.config.checks import ConfigError


def uses_sampler(config) -> bool:
    """Whether any part of the run calls ``bayes.sample`` with ``[mcmc] sampler``: the
    ``mcmc`` method or PSIS-LOO in ``[selection]`` (SBC samples with PyMC's own NUTS)."""
    selection = config.selection
    return bool(config.mcmc.enabled or (selection.enabled and selection.loo))


def check_requirements(config) -> None:
    """Raise :class:`ConfigError` (one line) if the chosen sampler's package is missing."""
    if not uses_sampler(config):
        return
    from bayes.sampling import require_sampler  # PyMC and ArviZ: only for a run that samples

    try:
        require_sampler(config.mcmc.sampler)
    except ValueError as error:
        raise ConfigError("mcmc.sampler", str(error)) from None
