"""Software Center's engine: catalog, eligibility, content, task sequences. Never imports Qt.

This package is the public API the window and the CLI use: `from core import X` for any
name below. Every submodule's `__all__` is re-exported here, and loaded lazily: importing
`core` loads no submodule, and `core.X` imports only the module that defines X (the
command line's `list` never loads the site builder, the window's start never loads the
signing tools it does not use). `tests/core/test_exported_members.py` checks that this
table is exactly the union of the submodules' `__all__`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what a type checker sees; at run time `__getattr__` below loads on use
    from .agent.client import *  # noqa: F403
    from .agent.notify import *  # noqa: F403
    from .agent.protocol import *  # noqa: F403
    from .agent.remote import *  # noqa: F403
    from .agent.restart import *  # noqa: F403
    from .agent.server import *  # noqa: F403
    from .agent.settings import *  # noqa: F403
    from .agent.spawn import *  # noqa: F403
    from .attempts import *  # noqa: F403
    from .catalog import *  # noqa: F403
    from .center import *  # noqa: F403
    from .cleanup import *  # noqa: F403
    from .cmtrace import *  # noqa: F403
    from .content import *  # noqa: F403
    from .demo import *  # noqa: F403
    from .eligibility import *  # noqa: F403
    from .engine import *  # noqa: F403
    from .errors import *  # noqa: F403
    from .events import *  # noqa: F403
    from .fileinfo import *  # noqa: F403
    from .fsutil import *  # noqa: F403
    from .http import *  # noqa: F403
    from .netstate import *  # noqa: F403
    from .options import *  # noqa: F403
    from .process import *  # noqa: F403
    from .protocols import *  # noqa: F403
    from .runstate import *  # noqa: F403
    from .signing import *  # noqa: F403
    from .sitebuild import *  # noqa: F403
    from .steps import *  # noqa: F403
    from .tsimport import *  # noqa: F403
    from .variables import *  # noqa: F403

# name -> the submodule that defines it
_EXPORTS: dict[str, str] = {
    # agent
    "API_PREFIX": "agent",
    "Agent": "agent",
    "AgentClient": "agent",
    "AgentCode": "agent",
    "AgentPlace": "agent",
    "ON_DEMAND_IDLE_S": "agent",
    "PROFILE_HEADER": "agent",
    "ROW_EXTRAS": "agent",
    "RemoteEngine": "agent",
    "SYSTEM_SOCKET": "agent",
    "client_profile": "agent",
    "ensure_agent": "agent",
    "locate_agent": "agent",
    "ApiError": "agent",
    "RunSummary": "agent",
    "DEFAULT_SNOOZE_MINUTES": "agent",
    "MAX_SNOOZE_MINUTES": "agent",
    "SETTING_KEYS": "agent",
    "SYSTEM_CONFIG": "agent",
    "SettingsStore": "agent",
    "default_socket_path": "agent",
    "event_from_json": "agent",
    "notify": "agent",
    "parse_setting": "agent",
    "public_settings": "agent",
    "read_boot_id": "agent",
    "run_reboot_command": "agent",
    "socket_path_problem": "agent",
    # attempts
    "AttemptRecord": "attempts",
    "Attempts": "attempts",
    "STEP_HOST": "attempts",
    # catalog
    "Catalog": "catalog",
    "CheckReadinessStep": "catalog",
    "Condition": "catalog",
    "Deployment": "catalog",
    "DownloadPackageContentStep": "catalog",
    "GroupStep": "catalog",
    "InstallPackageStep": "catalog",
    "Location": "catalog",
    "MAX_CATALOG_BYTES": "catalog",
    "MAX_GROUP_DEPTH": "catalog",
    "Package": "catalog",
    "PackageFile": "catalog",
    "RestartStep": "catalog",
    "RunCommandStep": "catalog",
    "SetVariableStep": "catalog",
    "Site": "catalog",
    "TaskSequenceVariable": "catalog",
    "UnsupportedStep": "catalog",
    "Step": "catalog",
    "UpgradeOsStep": "catalog",
    "duplicate_key_path": "catalog",
    "file_url": "catalog",
    "iter_steps": "catalog",
    "parse_catalog": "catalog",
    "referenced_packages": "catalog",
    "url_problem": "catalog",
    # center
    "SoftwareCenter": "center",
    "site_base_url": "center",
    # cleanup
    "shielded": "cleanup",
    # cmtrace
    "CMTraceHandler": "cmtrace",
    "DEFAULT_MAX_BYTES": "cmtrace",
    "LogEntry": "cmtrace",
    "component_for": "cmtrace",
    "format_entry": "cmtrace",
    "install_log": "cmtrace",
    "parse_cmtrace": "cmtrace",
    "redact": "cmtrace",
    "remove_log": "cmtrace",
    "windows_bias": "cmtrace",
    # content
    "ContentStore": "content",
    "Throttle": "content",
    "RetryPolicy": "content",
    "cache_key": "content",
    "ordered_locations": "content",
    "parse_retry_after": "content",
    # demo
    "DEFAULT_DEMO_RATE_MBPS": "demo",
    "DEMO_RATE_ENV": "demo",
    "DEMO_SPEC_DIR": "demo",
    "DemoServer": "demo",
    "build_demo_site": "demo",
    "demo_rate_bps": "demo",
    "serve_forever": "demo",
    # eligibility
    "ConnectionType": "eligibility",
    "LaunchMode": "eligibility",
    "Listing": "eligibility",
    "Refusal": "eligibility",
    "Verdict": "eligibility",
    "check_eligibility": "eligibility",
    "is_listed": "eligibility",
    # engine
    "Instruction": "engine",
    "TaskSequenceRunner": "engine",
    "flatten": "engine",
    "step_type": "engine",
    # errors
    "AgentError": "errors",
    "AgentStartError": "errors",
    "RestartCode": "errors",
    "RestartProblem": "errors",
    "SettingError": "errors",
    "Aborted": "errors",
    "CacheError": "errors",
    "CatalogError": "errors",
    "ContentError": "errors",
    "ContentMissingError": "errors",
    "ContentUnavailableError": "errors",
    "ErrorCode": "errors",
    "IntegrityError": "errors",
    "KeyFileError": "errors",
    "ProgramError": "errors",
    "RedirectError": "errors",
    "RunError": "errors",
    "SignInRequiredError": "errors",
    "SiteBuildError": "errors",
    "TaskSequenceImportError": "errors",
    "SiteUnreachableError": "errors",
    "SoftwareCenterError": "errors",
    "TooLargeError": "errors",
    "UntrustedCertificateError": "errors",
    "UntrustedSiteError": "errors",
    "UnusableUrlError": "errors",
    "Win32Code": "errors",
    # events
    "DownloadFailed": "events",
    "DownloadFinished": "events",
    "DownloadProgressed": "events",
    "DownloadRetrying": "events",
    "DownloadStarted": "events",
    "DownloadStatus": "events",
    "Event": "events",
    "EventSink": "events",
    "RestartPending": "events",
    "RunFinished": "events",
    "RunOutcome": "events",
    "RunResult": "events",
    "RunRefused": "events",
    "RunStarted": "events",
    "SkipReason": "events",
    "StepFinished": "events",
    "StepOutcome": "events",
    "StepProgressed": "events",
    "StepSkipped": "events",
    "StepStarted": "events",
    "to_json": "events",
    # fsutil
    "file_version": "fileinfo",
    "modified_utc": "fileinfo",
    "parse_version": "fileinfo",
    "NotRegularFileError": "fsutil",
    "atomic_write_bytes": "fsutil",
    "fsync_dir": "fsutil",
    "open_regular_file": "fsutil",
    "read_regular_file": "fsutil",
    "try_lock": "fsutil",
    "unlock": "fsutil",
    # http
    "Abort": "http",
    "DOCUMENT_DEADLINE_S": "http",
    "Document": "http",
    "HttpSession": "http",
    "MAX_REDIRECTS": "http",
    "describe_http_error": "http",
    "origin_of": "http",
    "redact_url": "http",
    "redirect_refusal": "http",
    "Validators": "http",
    # netstate
    "LinkCost": "netstate",
    "NM_METERED": "netstate",
    "read_link_cost": "netstate",
    # options
    "ConnectionSetting": "options",
    "Options": "options",
    "default_data_dir": "options",
    "load_options": "options",
    "save_options": "options",
    # process
    "MARKER_VARIABLE": "process",
    "OUTPUT_TAIL_CHARS": "process",
    "ProgramResult": "process",
    "exit_code_from_output": "process",
    "format_exit_code": "process",
    "kill_process_group": "process",
    "run_program": "process",
    "windows_setup_error": "process",
    "blocking_app": "process",
    "blocking_app_of": "process",
    "setup_block_error": "process",
    # protocols
    "EngineHost": "protocols",
    "LocalEngine": "protocols",
    "RunSource": "protocols",
    # runstate
    "HistoryEntry": "runstate",
    "RunLock": "runstate",
    "RunState": "runstate",
    "RunStatus": "runstate",
    "append_history": "runstate",
    "clear_state": "runstate",
    "load_history": "runstate",
    "load_state": "runstate",
    "save_state": "runstate",
    "state_dir": "runstate",
    "steps_dir": "runstate",
    # signing
    "MAX_SIGNATURE_BYTES": "signing",
    "SIGNATURE_NAME": "signing",
    "generate_key_file": "signing",
    "load_private_key": "signing",
    "parse_public_key": "signing",
    "public_key_text": "signing",
    "sign_catalog": "signing",
    "verify_catalog": "signing",
    # sitebuild
    "BuildReport": "sitebuild",
    "SKIPPED_NAMES": "sitebuild",
    "SourceFile": "sitebuild",
    "build_site": "sitebuild",
    "copy_file": "sitebuild",
    "remove_leftovers": "sitebuild",
    "scan_source": "sitebuild",
    # steps
    "Outcome": "steps",
    "ProgramStep": "steps",
    "StepExecutor": "steps",
    # tsimport
    "MAX_XML_BYTES": "tsimport",
    "MAX_XML_DEPTH": "tsimport",
    "ImportResult": "tsimport",
    "UnsupportedItem": "tsimport",
    "import_task_sequence": "tsimport",
    "split_command_line": "tsimport",
    # variables
    "MASK": "variables",
    "Variables": "variables",
    "compare": "variables",
    "evaluate_condition": "variables",
    "expand": "variables",
    "expand_path": "variables",
    "like": "variables",
}

SUBMODULES = tuple(sorted(set(_EXPORTS.values())))

__all__ = sorted(_EXPORTS)  # noqa: PLE0605


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'core' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
