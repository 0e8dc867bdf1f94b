"""Analyses built on spaces and arrays: analogies, evaluations, axes, spectra, null models, RSA,
clustering, graphs and token sequences."""
