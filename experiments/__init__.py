"""Experiments: configs -> synthetic data -> EM and MCMC fits -> comparison table -> report.

Run ``gmm-compare run`` (or ``python -m experiments run``) for the bundled quickstart.
"""
