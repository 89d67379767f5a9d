"""babelbridge: give a frozen LLM many languages through small trainable bridges."""

__version__ = "0.1.0"
