"""The engine's error hierarchy: every failure the engine reports is one of these.

    SoftwareCenterError            base; never raised itself
    ├── CatalogError               the catalog could not be fetched, or breaks SITE-FORMAT.md
    │   │                          (`path` names the offending field, e.g. `packages.PS100012.version`)
    │   └── TooLargeError          a site document grew past its size limit while being read
    ├── SiteUnreachableError       the site (catalog URL) could not be reached at all
    │   ├── UntrustedCertificateError  the server's TLS certificate is not trusted (no CA for it)
    │   └── SignInRequiredError    the site answered 401: no token, or the token was refused
    ├── UntrustedSiteError         a site key is pinned and the catalog's signature is missing
    │                              or does not match (`reason` says which)
    ├── SiteBuildError             `site build` refused its source (`path` names the field)
    ├── ContentError               a package could not be made available locally
    │   ├── IntegrityError         bytes did not match the catalog's size or SHA-256
    │   ├── ContentUnavailableError every location was tried and failed
    │   └── CacheError             the data folder cannot be written (read-only, full)
    ├── NotEligibleError           a deployment may not run here (`refusal.code` says why)
    └── RunError                   a task-sequence run could not proceed (state, lock, pre-flight)

Messages are for logs and terminals; the window maps codes to translated text itself.
"""

from __future__ import annotations

__all__ = [
    "CacheError",
    "CatalogError",
    "ContentError",
    "ContentUnavailableError",
    "IntegrityError",
    "NotEligibleError",
    "RunError",
    "SignInRequiredError",
    "SiteBuildError",
    "SiteUnreachableError",
    "SoftwareCenterError",
    "TooLargeError",
    "UntrustedCertificateError",
    "UntrustedSiteError",
]


class SoftwareCenterError(Exception):
    """Base of every error the engine raises on purpose."""


class CatalogError(SoftwareCenterError):
    """The catalog is unreadable or invalid. `path` is the dotted field path ('' for the whole)."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


class TooLargeError(CatalogError):
    """A site document (catalog, signature) is larger than `limit` bytes; raised while reading."""

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


class UntrustedCertificateError(SiteUnreachableError):
    """The server's TLS certificate did not verify against the system's CAs (plus `--ca-bundle`)."""


class SignInRequiredError(SiteUnreachableError):
    """The site answered 401 Unauthorized: a token is needed, or the one sent was refused."""


class UntrustedSiteError(SoftwareCenterError):
    """A site key is pinned and the catalog is not signed by it; the catalog was not used.

    `reason`: `unsigned` (no `catalog.json.sig`), `bad_signature` (a signature that is
    malformed or does not match the catalog's bytes) or `bad_key` (the pinned key itself
    is not an Ed25519 public key).
    """

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class SiteBuildError(SoftwareCenterError):
    """`site build` refused (bad source, unreadable or changing files, unusable output folder).

    `path` names the source's field (`packages.PS100012.source`) or is '' for the whole.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


class ContentError(SoftwareCenterError):
    """A package's content could not be made available in the cache."""


class IntegrityError(ContentError):
    """Downloaded bytes did not match the catalog's size or SHA-256; they were discarded.

    `attempts` lists (location, reason) pairs, as for ContentUnavailableError.
    """

    def __init__(self, message: str, attempts: list[tuple[str, str]] | None = None) -> None:
        self.attempts = attempts or []
        super().__init__(message)


class ContentUnavailableError(ContentError):
    """Every location of a package failed; `attempts` lists (location, reason) pairs."""

    def __init__(self, message: str, attempts: list[tuple[str, str]] | None = None) -> None:
        self.attempts = attempts or []
        super().__init__(message)


class CacheError(ContentError):
    """The content cache cannot be written (read-only or full data folder)."""


class NotEligibleError(SoftwareCenterError):
    """A deployment may not run on this client now; `code` is a refusal code of CLI.md."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class RunError(SoftwareCenterError):
    """A task-sequence run could not start or continue (lock held, bad state, pre-flight)."""
