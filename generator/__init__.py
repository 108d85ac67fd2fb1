"""sdfgen: synthetic pretraining-style corpora with facts buried at a controlled depth."""

__version__ = "0.5.0"
