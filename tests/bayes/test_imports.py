"""``import bayes`` loads PyMC only when a PyMC-backed name is first used."""

import subprocess
import sys

import pytest

CHECK = """
import sys
import bayes, bayes.priors, bayes.relabel, bayes.sbc
import experiments.report
before = sorted(name for name in ("pymc", "pytensor") if name in sys.modules)
bayes.sample
print(before, "pymc" in sys.modules)
"""


def test_pymc_is_imported_on_first_use_of_a_pymc_name():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[] True"


def test_every_public_name_resolves_and_unknown_names_raise():
    import bayes

    for name in bayes.__all__:
        assert getattr(bayes, name).__name__ == name
    assert set(bayes.__all__) <= set(dir(bayes))
    with pytest.raises(AttributeError, match="no_such_name"):
        bayes.no_such_name
