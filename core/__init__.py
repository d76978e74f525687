"""Software Center's engine: catalog, eligibility, content, task sequences. Never imports Qt.

This module is the public API the window and the CLI use: every submodule's `__all__`
is re-exported here, and `tests/core/test_layering.py` keeps that honest.
"""

from . import (
    catalog,
    center,
    cmtrace,
    content,
    demo,
    eligibility,
    engine,
    errors,
    events,
    http,
    options,
    process,
    runstate,
    signing,
    sitebuild,
    variables,
)
from .catalog import *  # noqa: F403
from .center import *  # noqa: F403
from .cmtrace import *  # noqa: F403
from .content import *  # noqa: F403
from .demo import *  # noqa: F403
from .eligibility import *  # noqa: F403
from .engine import *  # noqa: F403
from .errors import *  # noqa: F403
from .events import *  # noqa: F403
from .http import *  # noqa: F403
from .options import *  # noqa: F403
from .process import *  # noqa: F403
from .runstate import *  # noqa: F403
from .signing import *  # noqa: F403
from .sitebuild import *  # noqa: F403
from .variables import *  # noqa: F403

_MODULES = (catalog, center, cmtrace, content, demo, eligibility, engine, errors, events, http, options,
            process, runstate, signing, sitebuild, variables)

__all__ = sorted({name for module in _MODULES for name in module.__all__})
