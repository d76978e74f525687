"""Software Center's engine: catalog, eligibility, content, task sequences. Never imports Qt.

This module is the public API the window and the CLI use; the submodules are private.
"""

from .catalog import *  # noqa: F403
from .catalog import __all__ as _catalog_all
from .errors import *  # noqa: F403
from .errors import __all__ as _errors_all
from .events import *  # noqa: F403
from .events import __all__ as _events_all

__all__ = [*_catalog_all, *_errors_all, *_events_all]
