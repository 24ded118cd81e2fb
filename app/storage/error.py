"""The one type of failure that is the reader's, not the program's.

Each layer raises its own subclass (a locked profile, a feed that cannot be fetched, a model
that cannot rank yet). The boundaries (the command line, the window's jobs, the model host)
show any of them as one line and treat every other exception as a bug, by type alone: see
:func:`app.services.failure.reader_message`. It lives in the lowest layer so that every layer
can raise it.
"""

from __future__ import annotations


class HeedfulError(Exception):
    """A failure the reader can understand and act on; ``str(error)`` is the line to show."""
