"""RPA Vision: a desktop RPA agent that understands the screen from pixels.

Importing this package (or any module in it) touches no screen, input device, model or file.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
