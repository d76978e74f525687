"""Why things fail: stable failure codes, Windows-style numbers, and the exception tree.

`ErrorCode` is the stable, machine-readable reason of every failure the engine reports:
on exceptions (`exc.code`), on `RunFinished.reason`, `StepFinished.reason` and
`RunResult.reason`. Its values never change once released; the window maps them to
translated sentences (ui/wording.py) and the agent carries them to its clients. Messages
(`str(exc)`, `error` fields) are English, for logs and terminals, and may be reworded.

`Win32Code` holds the numbers the engine reports the way ConfigMgr does (`error_code`,
`exit_code`), beside the programs' own exit codes.

The exception tree (each line: when it is raised, and its default code):

    SoftwareCenterError            base; never raised itself
    ├── CatalogError               the catalog breaks the site format; `path` names the field,
    │   │                          e.g. `packages.PS100012.version`      (catalog_invalid)
    │   └── TooLargeError          a site document grew past its size limit while being read
    │                                                                    (catalog_too_large)
    ├── KeyFileError               a key (file or text) cannot be used   (bad_key)
    ├── SiteUnreachableError       the site (catalog URL) could not be fetched (site_unreachable)
    │   ├── UntrustedCertificateError  the server's TLS certificate is not trusted
    │   │                                                                (untrusted_certificate)
    │   └── SignInRequiredError    the site answered 401: no token, or it was refused
    │                                                                    (sign_in_required)
    ├── UnusableUrlError           a URL cannot be requested: not a URL, no host, a host that
    │   │                          cannot be IDNA-encoded, a port no server can have (unusable_url)
    │   └── RedirectError          a redirect was refused: scheme or host policy, a loop, too
    │                              many hops, an unusable target         (redirect_refused)
    ├── UntrustedSiteError         a site key is pinned and the catalog's signature is missing
    │                              or does not match; `reason` says which (untrusted_site)
    ├── SiteBuildError             `site build` refused its source; `path` names the field
    │   │                                                                (site_build_failed)
    │   └── TaskSequenceImportError  a task-sequence XML file cannot be imported; `path`
    │                              names the step (`Group / Step`)       (site_build_failed)
    ├── ContentError               a package could not be made available locally
    │   ├── IntegrityError         bytes did not match the catalog's size or SHA-256
    │   │                                                                (content_integrity)
    │   ├── ContentUnavailableError every location was tried and failed  (content_unavailable)
    │   │   └── ContentMissingError every location said a file does not exist (HTTP 404 or
    │   │                          410): the site lacks it, not this computer (content_missing)
    │   └── CacheError             the data folder cannot be written (read-only, full)
    │                                                                    (cache_unwritable)
    ├── Aborted                    inside a transfer worker: the awaiting task was cancelled;
    │                              never reaches a caller                (cancelled)
    └── RunError                   a task-sequence run could not start or continue: another
        │                          process holds the data folder (run_locked), a run waits for
        │                          `resume` (run_pending), nothing to resume (no_run), its
        │                          saved state or catalog is damaged (run_state_damaged)
        └── ProgramError           a step's program could not be started (program_not_started)

The agent's errors stand beside that tree: their codes cross the socket as text, and not
all of them are `ErrorCode`s.

    AgentError        client side: what the agent refused (`code`: an ErrorCode value, a
                      refusal of eligibility, or an AgentCode), or why it could not be asked
                      (agent_unreachable, protocol); `status` is the HTTP status
    AgentStartError   the agent cannot start, or a client could not start the user's agent
    SettingError      a setting's value is not one the agent takes (a ValueError; the
                      message names the key)
    RestartProblem    the reboot command did not reboot the machine; `code` is a RestartCode
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

__all__ = [
    "Aborted",
    "AgentError",
    "AgentStartError",
    "CacheError",
    "CatalogError",
    "ContentError",
    "ContentMissingError",
    "ContentUnavailableError",
    "ErrorCode",
    "IntegrityError",
    "KeyFileError",
    "ProgramError",
    "RedirectError",
    "RestartCode",
    "RestartProblem",
    "RunError",
    "SettingError",
    "SignInRequiredError",
    "SiteBuildError",
    "TaskSequenceImportError",
    "SiteUnreachableError",
    "SoftwareCenterError",
    "TooLargeError",
    "UntrustedCertificateError",
    "UnusableUrlError",
    "UntrustedSiteError",
    "Win32Code",
]


class ErrorCode(enum.StrEnum):
    """The stable reason of a failure. JSON carries the value; the window words it."""

    # the site and its catalog
    CATALOG_INVALID = "catalog_invalid"  # the catalog is not valid JSON or breaks the site format
    CATALOG_TOO_LARGE = "catalog_too_large"  # the catalog or its signature is over its size limit
    SITE_UNREACHABLE = "site_unreachable"  # DNS, refused, reset, timeout or an HTTP error status
    UNTRUSTED_CERTIFICATE = "untrusted_certificate"  # TLS certificate not trusted by the system or --ca-bundle
    SIGN_IN_REQUIRED = "sign_in_required"  # 401: a token is needed or was refused
    UNTRUSTED_SITE = "untrusted_site"  # the pinned key did not sign this catalog
    BAD_KEY = "bad_key"  # a key file or key text cannot be used
    SITE_BUILD_FAILED = "site_build_failed"  # `site build` refused its source or output
    UNUSABLE_URL = "unusable_url"  # a URL cannot be requested (not a URL, no host, bad host name or port)
    REDIRECT_REFUSED = "redirect_refused"  # a redirect broke the policy or had an unusable target
    # content
    CONTENT_UNAVAILABLE = "content_unavailable"  # every location of a package failed
    CONTENT_MISSING = "content_missing"  # every location answered that a file does not exist (404/410)
    CONTENT_INTEGRITY = "content_integrity"  # the bytes served did not match the catalog's size or SHA-256
    NO_CONTENT_LOCATION = "no_content_location"  # pre-flight: a package has no location usable on this connection
    CACHE_UNWRITABLE = "cache_unwritable"  # the content cache cannot be written
    # runs
    RUN_LOCKED = "run_locked"  # another process is running a task sequence with this data folder
    RUN_PENDING = "run_pending"  # an unfinished run (cancelled, restart pending) waits for `resume`
    NO_RUN = "no_run"  # `resume` found no saved run
    RUN_STATE_DAMAGED = "run_state_damaged"  # the saved run or its saved catalog cannot be used
    DATA_FOLDER_UNWRITABLE = "data_folder_unwritable"  # the run state cannot be saved (read-only folder)
    DISK_FULL = "disk_full"  # not enough free disk space (pre-flight, readiness check, full data folder)
    NOT_ENOUGH_MEMORY = "not_enough_memory"  # the readiness check found too little memory
    CANCELLED = "cancelled"  # the user (or a signal) cancelled the run; it can be resumed
    # steps
    PROGRAM_FAILED = "program_failed"  # a step's program exited with a code that is not a success code
    PROGRAM_TIMEOUT = "program_timeout"  # a step's program ran past its timeout and was stopped
    PROGRAM_NOT_STARTED = "program_not_started"  # a step's program could not be started


class Win32Code(enum.IntEnum):
    """Numbers the engine itself reports, as ConfigMgr and Windows Setup do (shown in hex)."""

    SUCCESS = 0
    REBOOT_REQUIRED = 3010  # ERROR_SUCCESS_REBOOT_REQUIRED: success, restart needed
    FILE_NOT_FOUND = 0x80070002  # a step's program could not be started
    ACCESS_DENIED = 0x80070005  # the data folder cannot be written
    NOT_ENOUGH_MEMORY = 0x8007000E
    DISK_FULL = 0x80070070
    CANCELLED = 0x800704C7  # ERROR_CANCELLED
    CONTENT_FAILED = 0x80091007  # ConfigMgr's content download / hash mismatch family
    SETUP_ROLLBACK = 0xC1900101  # Windows Setup: a driver stopped the upgrade, rolled back
    SETUP_COMPAT_BLOCK = 0xC1900208  # Windows Setup: an incompatible app blocks the upgrade
    SETUP_DISK_SPACE = 0xC190020E  # Windows Setup: not enough disk space
    SETUP_NO_ISSUES = 0xC1900210  # Windows Setup compatibility scan found nothing (success for scan-only)


class SoftwareCenterError(Exception):
    """Base of every error the engine raises on purpose. `code` is its stable reason."""

    code: ErrorCode  # every subclass sets its own


class CatalogError(SoftwareCenterError):
    """The catalog is unreadable or invalid. `path` is the dotted field path ('' for the whole)."""

    code = ErrorCode.CATALOG_INVALID

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


class TooLargeError(CatalogError):
    """A site document (catalog, signature) is larger than `limit` bytes; raised while reading."""

    code = ErrorCode.CATALOG_TOO_LARGE

    def __init__(self, what: str, limit: int) -> None:
        self.limit = limit
        if limit % (1024 * 1024) == 0:
            words = f"{limit // (1024 * 1024)} MiB"
        elif limit % 1024 == 0:
            words = f"{limit // 1024} KiB"
        else:
            words = f"{limit} bytes"
        super().__init__("", f"{what} is larger than {words}")


class SiteUnreachableError(SoftwareCenterError):
    """The catalog URL could not be fetched (DNS, refused, TLS, HTTP error)."""

    code = ErrorCode.SITE_UNREACHABLE


class UntrustedCertificateError(SiteUnreachableError):
    """The server's TLS certificate did not verify against the system's CAs (plus `--ca-bundle`)."""

    code = ErrorCode.UNTRUSTED_CERTIFICATE


class SignInRequiredError(SiteUnreachableError):
    """The site answered 401 Unauthorized: a token is needed, or the one sent was refused."""

    code = ErrorCode.SIGN_IN_REQUIRED


class UntrustedSiteError(SoftwareCenterError):
    """A site key is pinned and the catalog is not signed by it; the catalog was not used.

    `reason`: `unsigned` (no `catalog.json.sig`), `bad_signature` (a signature that is
    malformed or does not match the catalog's bytes) or `bad_key` (the pinned key itself
    is not an Ed25519 public key).
    """

    code = ErrorCode.UNTRUSTED_SITE

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class SiteBuildError(SoftwareCenterError):
    """`site build` refused (bad source, unreadable or changing files, unusable output folder).

    `path` names the source's field (`packages.PS100012.source`) or is '' for the whole.
    """

    code = ErrorCode.SITE_BUILD_FAILED

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


class TaskSequenceImportError(SiteBuildError):
    """A task-sequence XML file cannot be imported: not XML, hostile (entities, a DTD, too
    large or too deep), not a task sequence, or a malformed step. `path` names the step by
    its place in the tree (`Prepare / Run setup`), or is '' for the whole file."""


class ContentError(SoftwareCenterError):
    """A package's content could not be made available in the cache."""

    code = ErrorCode.CONTENT_UNAVAILABLE


class IntegrityError(ContentError):
    """Downloaded bytes did not match the catalog's size or SHA-256; they were discarded.

    `attempts` lists (location, reason) pairs, as for ContentUnavailableError.
    """

    code = ErrorCode.CONTENT_INTEGRITY

    def __init__(self, message: str, attempts: list[tuple[str, str]] | None = None) -> None:
        self.attempts = attempts or []
        super().__init__(message)


class ContentUnavailableError(ContentError):
    """Every location of a package failed; `attempts` lists (location, reason) pairs."""

    code = ErrorCode.CONTENT_UNAVAILABLE

    def __init__(self, message: str, attempts: list[tuple[str, str]] | None = None) -> None:
        self.attempts = attempts or []
        super().__init__(message)


class ContentMissingError(ContentUnavailableError):
    """Every location answered that a file of the package does not exist (HTTP 404 or 410):
    the content is missing on the site, which no retry or other network on this computer
    changes."""

    code = ErrorCode.CONTENT_MISSING


class CacheError(ContentError):
    """The content cache cannot be written (read-only or full data folder)."""

    code = ErrorCode.CACHE_UNWRITABLE


class KeyFileError(SoftwareCenterError, ValueError):
    """A key (file or text) cannot be used; the message says why, in words."""

    code = ErrorCode.BAD_KEY


class UnusableUrlError(SoftwareCenterError):
    """A URL cannot be requested: not a URL, no host, a host that cannot be IDNA-encoded, or
    a port no server can have. The message is redacted."""

    code = ErrorCode.UNUSABLE_URL


class RedirectError(UnusableUrlError):
    """A redirect was refused (scheme/host policy, loop, too many hops, a target that is not
    a usable URL). The message is redacted."""

    code = ErrorCode.REDIRECT_REFUSED


class Aborted(SoftwareCenterError):
    """Raised inside a transfer worker when its `Abort` was set (the awaiting task was cancelled)."""

    code = ErrorCode.CANCELLED


class RunError(SoftwareCenterError):
    """A task-sequence run could not start or continue; `code` says why (lock, pending, state)."""

    def __init__(self, message: str, code: ErrorCode) -> None:
        self.code = code
        super().__init__(message)


class ProgramError(RunError):
    """A step's program could not be started: not found, not executable, no working folder."""

    def __init__(self, program: str, problem: str) -> None:
        self.program = program
        self.problem = problem
        super().__init__(f"cannot start {program!r}: {problem}", ErrorCode.PROGRAM_NOT_STARTED)


# --- the agent's ------------------------------------------------------------------------


class AgentError(Exception):
    """What the agent refused, or why it could not be asked. `status` is the HTTP status
    (None when no answer came)."""

    def __init__(self, code: str, message: str, status: int | None = None,
                 extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = dict(extra or {})



class AgentStartError(Exception):
    """The agent cannot start (the message says why, in one sentence)."""



class SettingError(ValueError):
    """A setting's value is not one the agent takes (the message names the key)."""



class RestartCode(enum.StrEnum):
    """Why the reboot command did not reboot the machine (a `restart_failed` event's `code`)."""

    NOT_STARTED = "reboot_command_not_started"  # the command could not be started
    FAILED = "reboot_command_failed"  # it exited non-zero (or ran too long)


class RestartProblem(Exception):
    """The reboot command failed: `code` is stable, the message says why in one sentence."""

    def __init__(self, code: RestartCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
