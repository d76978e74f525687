"""Whether a deployment may run on this client now, and if not, why (pure functions).

`check_eligibility` applies the eligibility rules (docs/ENGINE.md) in a fixed order and returns a `Verdict`:
eligible, or refused with a stable `Refusal` code (docs/CLI.md), a log line for admins and an
English sentence for terminals. The window translates by code, not by sentence.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from .catalog import Catalog, Deployment

__all__ = [
    "ConnectionType",
    "LaunchMode",
    "Listing",
    "Refusal",
    "Verdict",
    "check_eligibility",
    "is_listed",
]

ConnectionType = Literal["internet", "intranet"]


class LaunchMode(enum.StrEnum):
    """Where the task sequence is started from (`_SMSTSLaunchMode`)."""

    SOFTWARE_CENTER = "software-center"  # the normal case: started by the user from the catalog
    MEDIA = "media"  # task-sequence boot media
    PXE = "pxe"  # network boot


class Refusal(enum.StrEnum):
    """Why a deployment may not run (docs/CLI.md refusal codes)."""

    INTRANET_ONLY = "intranet_only"  # allow_internet is false and the client is on the internet
    DIRECT_ACCESS_ON_INTERNET = "direct_access_on_internet"  # "direct" content access needs a DP
    CONTENT_NOT_ON_INTERNET = "content_not_on_internet"  # a package has no cloud location
    UNSUPPORTED_LAUNCH_MODE = "unsupported_launch_mode"  # media/PXE start where only SC is supported
    NOT_YET_AVAILABLE = "not_yet_available"  # before available_from
    EXPIRED = "expired"  # at or after expires
    MEDIA_PXE_ONLY = "media_pxe_only"  # deployed to media/PXE only
    UNKNOWN_DEPLOYMENT = "unknown_deployment"  # no deployment with that ID in the catalog


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome for one deployment. `refusal` is None when it may run."""

    deployment_id: str
    refusal: Refusal | None = None
    message: str | None = None  # English sentence for terminals; None when eligible
    log: str | None = None  # admin-facing log line; None when eligible
    packages: tuple[str, ...] = ()  # for content_not_on_internet: the packages without cloud content

    @property
    def eligible(self) -> bool:
        return self.refusal is None


def is_listed(deployment: Deployment) -> bool:
    """Media/PXE-only deployments never appear in the catalog the user sees."""
    return deployment.available_to not in ("media_pxe", "media_pxe_hidden")


# Longest deployment ID a message shows whole. A catalog's IDs have at most 16 characters;
# what a user typed can be any length, and a 20,000-character word in a sentence made the
# terminal's line wrapping take seconds.
_SHOWN_ID_CHARS = 40


def _shown_id(deployment_id: str) -> str:
    """The ID as a message shows it: cut short when long, odd characters escaped."""
    shown = deployment_id[:_SHOWN_ID_CHARS]
    if not shown.isprintable():
        shown = ascii(shown)[1:-1]
    if len(deployment_id) > _SHOWN_ID_CHARS:
        shown += f"... ({len(deployment_id):,} characters)"
    return shown


def _refuse(dep_id: str, refusal: Refusal, message: str, log: str, packages: tuple[str, ...] = ()) -> Verdict:
    return Verdict(dep_id, refusal, message, f"Deployment {_shown_id(dep_id)}: {log}", packages)


def check_eligibility(
    catalog: Catalog,
    deployment_id: str,
    connection: ConnectionType,
    launch_mode: LaunchMode = LaunchMode.SOFTWARE_CENTER,
    now: datetime | None = None,
) -> Verdict:
    """Apply the domain rules, most fundamental first; the first rule that refuses wins."""
    dep = catalog.deployment(deployment_id)
    if dep is None:
        return _refuse(
            deployment_id,
            Refusal.UNKNOWN_DEPLOYMENT,
            f"There is no deployment {_shown_id(deployment_id)} in this site's catalog.",
            "not found in the catalog",
        )
    now = now or datetime.now(UTC)
    did = dep.id
    if not is_listed(dep):
        return _refuse(
            did,
            Refusal.MEDIA_PXE_ONLY,
            "This deployment is only for task-sequence boot media and PXE, not for Software Center.",
            f"available_to={dep.available_to}; not offered to Software Center",
        )
    if dep.available_from is not None and now < dep.available_from:
        return _refuse(
            did,
            Refusal.NOT_YET_AVAILABLE,
            f"This deployment becomes available on {dep.available_from.isoformat()}.",
            f"not available before {dep.available_from.isoformat()}",
        )
    if dep.expires is not None and now >= dep.expires:
        return _refuse(
            did,
            Refusal.EXPIRED,
            f"This deployment expired on {dep.expires.isoformat()}.",
            f"expired at {dep.expires.isoformat()}",
        )
    if launch_mode is not LaunchMode.SOFTWARE_CENTER and dep.available_to == "clients":
        return _refuse(
            did,
            Refusal.UNSUPPORTED_LAUNCH_MODE,
            f"This deployment can only be started from Software Center, not from {launch_mode.value}.",
            f"available_to=clients; launch mode {launch_mode.value} not supported",
        )
    if connection == "internet":
        if not dep.allow_internet:
            return _refuse(
                did,
                Refusal.INTRANET_ONLY,
                "This deployment only runs while connected to the corporate network, "
                "and this computer is on the internet.",
                "'Allow task sequence to run for client on the Internet' is off; client is on the internet",
            )
        if dep.download == "direct":
            return _refuse(
                did,
                Refusal.DIRECT_ACCESS_ON_INTERNET,
                "This deployment reads its content directly from an on-premises distribution point, "
                "which cannot be reached from the internet.",
                "content access is 'direct' (run from distribution point); not possible from a cloud source",
            )
        if dep.download == "on_demand" and launch_mode is not LaunchMode.SOFTWARE_CENTER:
            return _refuse(
                did,
                Refusal.UNSUPPORTED_LAUNCH_MODE,
                "Downloading content on demand over the internet is only supported when the task "
                f"sequence is started from Software Center, not from {launch_mode.value}.",
                f"on-demand download over the internet is not supported from {launch_mode.value}",
            )
        ts = catalog.task_sequences[dep.task_sequence]
        missing = tuple(pid for pid in ts.package_ids if not catalog.packages[pid].has_cloud_location)
        if missing:
            return _refuse(
                did,
                Refusal.CONTENT_NOT_ON_INTERNET,
                "Some of this deployment's content is only on the corporate network "
                f"({', '.join(missing)}), so it cannot run from the internet.",
                f"no internet-facing (cloud) content location for package(s) {', '.join(missing)}",
                missing,
            )
    return Verdict(did)


@dataclass(frozen=True, slots=True)
class Listing:
    """One listed deployment with its verdict on this client and its content sizes."""

    deployment: Deployment
    verdict: Verdict
    total_bytes: int  # every package the task sequence references
    download_bytes: int  # of those, the packages that are not complete in the cache
    present_bytes: int = 0  # bytes of those packages in the cache, complete or partly (a download resumes)

    def as_json(self) -> dict[str, Any]:
        """The fields of `list --json` (without its "event" key)."""
        return {
            "id": self.deployment.id,
            "name": self.deployment.name,
            "purpose": self.deployment.purpose,
            "eligible": self.verdict.eligible,
            "reason": self.verdict.refusal.value if self.verdict.refusal else None,
            "message": self.verdict.message,
            "download_bytes": self.download_bytes,
        }

    def as_row(self) -> dict[str, Any]:
        """`as_json()` plus what a listing shows beside it: the agent's `GET /v1/deployments`
        rows (their added keys are `core.agent.protocol.ROW_EXTRAS`)."""
        dep = self.deployment
        return {**self.as_json(), "total_bytes": self.total_bytes, "present_bytes": self.present_bytes,
                "high_impact": dep.high_impact,
                "deadline": dep.deadline.isoformat() if dep.deadline is not None else None}
