"""The one error type of the data package."""

from ..errors import BabelBridgeError


class DataError(BabelBridgeError, ValueError):
    """A corpus file, corpus spec or mixture that cannot be used as given.

    Messages name the file and line (``path:line``) whenever one is at fault.
    """
