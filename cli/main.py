"""The `software-center` command (docs/CLI.md): argument parsing, exit codes, terminal and JSON output.

Without a command it opens the window; the other commands use the engine (`core`)
directly and never import Qt. Engine errors become one line on standard error and an
exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shlex
import sys
from pathlib import Path
from typing import Any

__all__ = ["main"]

from .exits import EXIT_CANCELLED, EXIT_INTERNAL, EXIT_OK
from .exits import fail as _fail


def _common(p: argparse.ArgumentParser, *, json_flag: bool = True, connection: bool = True) -> None:
    # SUPPRESS: an option given before the command is not overwritten by the sub-parser's default.
    p.add_argument("--site", default=argparse.SUPPRESS, metavar="URL",
                   help="site folder URL (or local folder) holding catalog.json; default: the embedded demo site")
    p.add_argument("--data-dir", default=argparse.SUPPRESS, metavar="DIR", type=Path,
                   help="content cache, run state and logs (default: the per-user data folder)")
    if connection:
        p.add_argument("--connection", default=argparse.SUPPRESS, choices=["auto", "internet", "intranet"],
                       help="connection type (default: the saved option, else auto)")
    if json_flag:
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                       help="JSON Lines events on standard output")
    _trust(p)
    p.add_argument("--site-key", default=argparse.SUPPRESS, metavar="KEY",
                   help="pinned Ed25519 public key of the site (text or file): unsigned or badly "
                        "signed catalogs are refused")


def _agent_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--agent", default=argparse.SUPPRESS, metavar="PATH", type=Path,
                   help="the agent's socket (default: SOFTWARE_CENTER_AGENT, else the machine's agent at "
                        "/run/software-center/agent.sock, else your own agent for the data folder, started "
                        "on demand)")


def _client_options(p: argparse.ArgumentParser) -> None:
    """--agent and --data-dir of a command that only asks the agent (watch, settings, discard)."""
    _agent_option(p)
    p.add_argument("--data-dir", default=argparse.SUPPRESS, metavar="DIR", type=Path,
                   help="the data folder whose agent to ask (default: the per-user data folder)")


def _standalone_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--standalone", action="store_true", default=argparse.SUPPRESS,
                   help="run the engine in this process, without an agent (as a task sequence started "
                        "from boot media does); refused while an agent serves the data folder")


def _trust(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ca-bundle", default=argparse.SUPPRESS, metavar="FILE",
                   help="PEM file of a private CA to trust for HTTPS, on top of the system's")


def _apply_trust(args: argparse.Namespace) -> str | None:
    """--site-key/--ca-bundle reach every SoftwareCenter of this process through the
    environment (SOFTWARE_CENTER_SITE_KEY/_CA_BUNDLE, which core reads). An error message or None."""
    bundle = getattr(args, "ca_bundle", None)
    if bundle is not None:
        bundle_path = Path(bundle).expanduser()
        if not bundle_path.is_file():
            return f"--ca-bundle: no file {bundle}"
        os.environ["SOFTWARE_CENTER_CA_BUNDLE"] = str(bundle_path.resolve())
    key = getattr(args, "site_key", None)
    if key is not None:
        from core import KeyFileError, parse_public_key

        try:
            parse_public_key(key)
        except KeyFileError as exc:
            return f"--site-key: {exc}"
        key_path: Path | None
        try:
            key_path = Path(key).expanduser()
        except RuntimeError:  # "~user" of no user: it was the key's text
            key_path = None
        os.environ["SOFTWARE_CENTER_SITE_KEY"] = (
            str(key_path.resolve()) if key_path and key_path.is_file() else key.strip()
        )
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="software-center",
        description="Software Center: run operating-system upgrade task sequences, over the internet too.",
    )
    _common(parser, json_flag=False)
    _agent_option(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("list", help="every listed deployment with its eligibility on this client")
    _common(p)
    _agent_option(p)
    _standalone_option(p)

    p = sub.add_parser("refresh", help="have the agent read the site's catalog again now (it does so every "
                                       "poll_minutes by itself); an unchanged catalog costs a 304")
    _common(p)
    _agent_option(p)

    p = sub.add_parser("run", help="run a task sequence headless")
    p.add_argument("deployment", metavar="DEPLOYMENT_ID")
    _common(p)
    p.add_argument("--launch-mode", default="software-center", choices=["software-center", "media", "pxe"])
    p.add_argument("--yes", action="store_true", help="start a high-impact deployment without asking")
    p.add_argument("--variable", action="append", metavar="NAME=VALUE",
                   help="preset a task-sequence variable (repeatable)")
    _agent_option(p)
    _standalone_option(p)
    p.add_argument("--detach", action="store_true", default=argparse.SUPPRESS,
                   help="print the run id and return at once; the agent goes on with the run")

    p = sub.add_parser("agent", help="run the agent in the foreground: it owns the data folder and "
                                     "serves its engine on a Unix socket")
    _common(p, json_flag=False)
    p.add_argument("--socket", default=None, metavar="PATH", type=Path,
                   help="where to listen (default: $XDG_RUNTIME_DIR/software-center/agent.sock, "
                        "else agent/agent.sock in the data folder)")
    p.add_argument("--socket-mode", default=None, metavar="OCTAL",
                   help="permissions of the socket (default 600: only this user may connect; "
                        "666 with --system: every local user, the tiers still apply)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--system", action="store_true",
                      help="the machine's agent (root, run by systemd): settings in /etc/software-center/agent.json, "
                           "data in /var/lib/software-center, log in /var/log/software-center, socket "
                           "/run/software-center/agent.sock (systemd's STATE_DIRECTORY, LOGS_DIRECTORY and "
                           "RUNTIME_DIRECTORY, --data-dir, --config and --socket override them)")
    mode.add_argument("--user", action="store_true", help="the user's agent (the default)")
    p.add_argument("--config", default=None, metavar="FILE", type=Path,
                   help="the settings file (default with --system: /etc/software-center/agent.json; "
                        "else the data folder's options)")
    p.add_argument("--exit-when-idle", default=None, type=float, metavar="SECONDS",
                   help="stop after this many seconds with no run and no client")
    p.add_argument("--reboot-command", default=None, metavar="CMD",
                   help="restart the computer with this command when a run asks for a restart; the run "
                        "continues once the boot id has changed (default: a simulated restart)")
    p.add_argument("--precache-delay", default=60.0, type=float, metavar="SECONDS",
                   help="start the background pre-cache this long after the agent starts or a new catalog "
                        "comes into force (default 60)")
    p.add_argument("--restart-retry", default=60.0, type=float, metavar="SECONDS",
                   help="after a failed reboot command, try again after this many seconds (default 60)")

    p = sub.add_parser("watch", help="attach to the agent's current (or last) run: replay its events, "
                                     "follow it, exit with its code")
    _client_options(p)
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                   help="JSON Lines events on standard output")

    p = sub.add_parser("settings", help="print the agent's settings, or change one (admin only)")
    p.add_argument("key", nargs="?", metavar="KEY", help="one setting: site, connection, site_key, ca_bundle, "
                                                         "token, reboot_command, restart_countdown_s, "
                                                         "restart_snooze_minutes, admin_group, poll_minutes, "
                                                         "precache_rate_mbps, precache_on_metered, notice_minutes")
    p.add_argument("value", nargs="?", metavar="VALUE",
                   help="its new value ('' unsets it; `token -` reads the token from standard input)")
    _client_options(p)
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="one JSON object")

    p = sub.add_parser("discard", help="forget the agent's cancelled or failed run so another can start "
                                       "(the cache and the history stay)")
    _client_options(p)
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                   help="one JSON line on standard output")

    p = sub.add_parser("resume", help="continue the run that stopped for a restart or was interrupted")
    p.add_argument("--data-dir", default=argparse.SUPPRESS, metavar="DIR", type=Path,
                   help="the data folder of the run (default: the per-user data folder)")
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                   help="JSON Lines events on standard output")
    _trust(p)  # the run's remaining content may come from a site with a private CA
    _agent_option(p)
    _standalone_option(p)

    p = sub.add_parser("demo-site", help="serve the bundled demo site until interrupted")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--rate", type=float, default=None, metavar="MBPS",
                   help="limit the serving rate to MBPS megabytes per second")
    p.add_argument("--data-dir", default=argparse.SUPPRESS, metavar="DIR", type=Path,
                   help="where the demo site is generated (default: the per-user data folder)")

    from .site import add_site_parser

    add_site_parser(sub)
    return parser


def _setup_logging(data_dir: Path) -> None:
    """Engine log lines go to standard error only when asked (SOFTWARE_CENTER_DEBUG=1)."""
    if os.environ.get("SOFTWARE_CENTER_DEBUG"):
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)


def _data_dir(args: argparse.Namespace) -> Path:
    from core import default_data_dir

    d: Path | None = getattr(args, "data_dir", None)
    # Absolute once, here: step programs run in package folders, and their hosts must find
    # the run's files from there.
    return Path(os.path.abspath((d or default_data_dir()).expanduser()))


def _site(args: argparse.Namespace) -> str | None:
    return getattr(args, "site", None) or os.environ.get("SOFTWARE_CENTER_SITE") or None


_CLIENT = frozenset({"list", "run", "resume", "watch", "discard", "settings", "refresh"})  # through the agent
_STANDALONE = frozenset({"list", "run", "resume"})  # ... or, with --standalone, in this process


def _standalone(args: argparse.Namespace, data_dir: Path) -> int:
    """`list`, `run` or `resume` with the engine in this process. It holds a shared lock on
    the agent's lock file, so no agent starts on the data folder meanwhile, and refuses when
    an agent serves it; between such commands the engine's own run lock decides."""
    from core import try_lock, unlock

    if getattr(args, "agent", None) is not None:
        return _fail("--standalone runs without an agent: leave out --agent")
    if getattr(args, "detach", False):
        return _fail("--detach needs the agent: only the agent keeps a run going without its command")
    try:
        (data_dir / "agent").mkdir(parents=True, exist_ok=True)
        lock = try_lock(data_dir / "agent" / "agent.lock", shared=True)
    except OSError as exc:
        return _fail(f"cannot use the data folder {data_dir}: {exc.strerror or exc}")
    if lock is None:
        return _fail(f"an agent serves the data folder {data_dir}; run the command without --standalone "
                     "to go through it")
    try:
        args.json = getattr(args, "json", False)
        if args.command == "list":
            return asyncio.run(_list(args, data_dir))
        if args.command == "run":
            from .run import run_command

            args.connection = getattr(args, "connection", None)
            return asyncio.run(run_command(args, data_dir, _site(args)))
        from .run import resume_command

        return asyncio.run(resume_command(args, data_dir))
    finally:
        unlock(lock)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    data_dir = _data_dir(args)
    _setup_logging(data_dir)
    if (problem := _apply_trust(args)) is not None:
        return _fail(problem)
    try:
        if args.command is None:
            from core import locate_agent
            from ui.app import run_window  # Qt only for the window

            # The window of the machine's agent, when one is installed and no data folder
            # was named; else of the user's agent for the data folder.
            place = locate_agent(getattr(args, "agent", None), data_dir, data_dir_given=hasattr(args, "data_dir"))
            return run_window(getattr(args, "site", None), data_dir, getattr(args, "connection", None),
                              None if place.startable else place.socket)
        if args.command in _STANDALONE and getattr(args, "standalone", False):
            return _standalone(args, data_dir)
        if args.command in _CLIENT:
            from .remote import client_command

            return asyncio.run(client_command(args, data_dir))
        if args.command == "agent":
            return _agent(args, data_dir)
        if args.command == "demo-site":
            return _demo_site(args, data_dir)
        if args.command == "site":
            from .site import site_command

            return site_command(args)
    except KeyboardInterrupt:
        print("Cancelled.", file=sys.stderr)
        return EXIT_CANCELLED
    except Exception as exc:  # a bug: one line, never a traceback (unless debugging)
        if os.environ.get("SOFTWARE_CENTER_DEBUG"):
            raise
        print(f"software-center: unexpected error ({type(exc).__name__}: {exc}); "
              "set SOFTWARE_CENTER_DEBUG=1 for details", file=sys.stderr)
        return EXIT_INTERNAL
    raise AssertionError(args.command)  # argparse only lets known commands through


async def _list(args: argparse.Namespace, data_dir: Path) -> int:
    from core import SoftwareCenter, SoftwareCenterError

    center = SoftwareCenter(data_dir, site=_site(args), connection=getattr(args, "connection", None))
    try:
        try:
            await center.open()
        except SoftwareCenterError as exc:
            return _fail(_describe(exc))
        except OSError as exc:
            return _fail(f"cannot use the data folder {data_dir}: {exc.strerror or exc}")
        listings = center.listings()
    finally:
        await center.aclose()
    if getattr(args, "json", False):
        for item in listings:
            _emit({"event": "deployment", **item.as_json()})
        return EXIT_OK
    from .terminal import print_listing

    assert center.catalog is not None and center.connection is not None
    print_listing(center.catalog.site.organization, center.connection, [item.as_row() for item in listings])
    return EXIT_OK


def _describe(exc: Exception) -> str:
    from core import CatalogError

    if isinstance(exc, CatalogError):
        return f"the site's catalog is invalid: {exc}"
    return str(exc)


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _agent(args: argparse.Namespace, data_dir: Path) -> int:
    from core import SYSTEM_CONFIG, Agent, AgentStartError, SettingError, SettingsStore, default_socket_path

    system = bool(args.system)
    socket_mode = args.socket_mode or ("666" if system else "600")
    try:
        mode = int(socket_mode, 8)
        if not 0 <= mode <= 0o777:
            raise ValueError
    except ValueError:
        return _fail(f"--socket-mode expects permissions in octal (such as 600 or 666), not {socket_mode!r}")
    idle = args.exit_when_idle
    if idle is not None and not idle > 0:
        return _fail("--exit-when-idle must be a positive number of seconds")
    log_file: Path | None = None
    config: Path | None = Path(os.path.abspath(args.config.expanduser())) if args.config else None
    if system:
        data_dir = _system_dir(getattr(args, "data_dir", None), "STATE_DIRECTORY", "/var/lib/software-center")
        log_file = _system_dir(None, "LOGS_DIRECTORY", "/var/log/software-center") / "smsts.log"
        default_socket = _system_dir(None, "RUNTIME_DIRECTORY", "/run/software-center") / "agent.sock"
        config = config or SYSTEM_CONFIG
    else:
        default_socket = default_socket_path(data_dir)
    socket_path = Path(os.path.abspath(args.socket.expanduser())) if args.socket else default_socket
    if not args.restart_retry > 0:
        return _fail("--restart-retry must be a positive number of seconds")
    if not args.precache_delay >= 0:
        return _fail("--precache-delay must be a number of seconds (0 or more)")
    reboot: list[str] | None = None
    if args.reboot_command is not None:
        try:
            reboot = shlex.split(args.reboot_command)
        except ValueError as exc:
            return _fail(f"--reboot-command: {exc}")
        if not reboot:
            return _fail("--reboot-command: expected a command")

    async def serve() -> int:
        store = SettingsStore(data_dir, config)
        given = {"site": _site(args), "connection": getattr(args, "connection", None),
                 "site_key": os.environ.get("SOFTWARE_CENTER_SITE_KEY") if getattr(args, "site_key", None) else None,
                 "ca_bundle": os.environ.get("SOFTWARE_CENTER_CA_BUNDLE") if getattr(args, "ca_bundle", None)
                 else None,
                 "reboot_command": reboot}
        given = {k: v for k, v in given.items() if v is not None}
        if system and given:  # the options given to the machine's agent become its settings
            try:
                saved = store.load()
                store.save({**saved, **given})
            except (OSError, SettingError) as exc:
                raise AgentStartError(f"cannot save the settings in {config}: {exc}") from None
        agent = Agent(data_dir, socket_path, site=_site(args), connection=getattr(args, "connection", None),
                      exit_when_idle=idle, socket_mode=mode, reboot_command=reboot,
                      restart_retry_s=args.restart_retry, precache_delay_s=args.precache_delay,
                      mode="system" if system else "user",
                      settings_store=store, log_file=log_file, overrides=given)
        return await agent.serve()

    try:
        return asyncio.run(serve())
    except AgentStartError as exc:
        return _fail(str(exc))


def _system_dir(given: Path | None, variable: str, default: str) -> Path:
    """A system-mode folder: the option, else systemd's variable (its first entry), else the default."""
    if given is not None:
        return Path(os.path.abspath(given.expanduser()))
    value = os.environ.get(variable, "").split(":")[0]
    return Path(os.path.abspath(value or default))


def _demo_site(args: argparse.Namespace, data_dir: Path) -> int:
    from core import serve_forever

    if args.rate is not None and args.rate <= 0:
        return _fail("--rate must be a positive number of megabytes per second")
    if not 0 <= args.port <= 65535:
        return _fail(f"--port must be from 0 to 65535, not {args.port}")
    try:
        serve_forever(args.host, args.port, args.rate, data_dir)
    except OSError as exc:
        return _fail(f"cannot serve the demo site on {args.host}:{args.port}: {exc.strerror or exc}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
