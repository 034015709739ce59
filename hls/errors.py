"""The one exception the generator raises for a network or setting it cannot map to hardware."""


class GeneratorError(ValueError):
    """Raised before any file is written; the message names the layer (or setting) and field."""
