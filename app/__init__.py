"""Heedful, a desktop news reader that learns, on the reader's machine, what they heed.

``__version__`` is the one place the version is written: pyproject reads it for the
distribution's metadata, ``heedful --version`` prints it, the window reports it to Qt and the
fetcher puts it in its User-Agent.
"""

__version__ = "0.1.0"

APP_ID = "app.heedful.Heedful"
"""Reverse-DNS id shared by the .desktop file, the AppStream metainfo and the icon name."""
