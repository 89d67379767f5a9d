"""Errors a user can fix. The CLI prints them as one line instead of a traceback."""


class BabelBridgeError(Exception):
    """Base class for mistakes in input, configuration or files."""


class InputError(BabelBridgeError, ValueError):
    """Bad text input: empty lines, over-long sources, wrong types."""


class BackboneMismatchError(BabelBridgeError):
    """A bridge checkpoint loaded onto backbones other than the ones it was trained on."""


class CheckpointError(BabelBridgeError):
    """A missing, incomplete or foreign checkpoint directory."""
