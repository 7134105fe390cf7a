"""The version of turing-learning: one place, read by ``turing.__version__``, ``turing
--version`` and the ``versions`` every run folder records (``pyproject.toml`` states the
same number; a test checks that they agree). CHANGELOG.md says what each version changed."""

VERSION = "0.2.0"
