"""The ``fracneuron`` command line: ``fracneuron plugins`` (and ``fracneuron train``)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main", "plugins_report"]


def plugins_report() -> str:
    """What is loaded and from where: plugins, adapters (available or not, and why), memories,
    methods and surrogates with the plugin that registered each."""
    from . import plugins

    lines = ["plugins:"]
    for name, source in sorted(plugins.plugin_sources().items()):
        lines.append(f"  {name:<16} {source}")
    for name, reason in sorted(plugins.plugin_failures().items()):
        lines.append(f"  {name:<16} NOT LOADED: {reason}")

    lines.append("adapters:")
    for entry in plugins.adapters:
        reason, supported = _adapter_state(entry.obj)
        state = "available" if reason is None else f"unavailable: {reason}"
        lines.append(f"  {entry.name:<16} {state}  [plugin: {entry.plugin}]")
        if supported:
            lines.append(f"  {'':<16} supports {', '.join(supported)}")
    for title, registry in (("memories", plugins.memories), ("methods", plugins.methods), ("surrogates", plugins.surrogates)):
        lines.append(f"{title}:")
        for entry in registry:
            aliases = f" (aliases: {', '.join(entry.aliases)})" if entry.aliases else ""
            lines.append(f"  {entry.name:<28}[plugin: {entry.plugin}]{aliases}")
    return "\n".join(lines)


def _adapter_state(adapter) -> tuple[str | None, list[str]]:
    """Why ``adapter`` is unavailable (``None`` if it is available) and the classes it supports;
    a third-party adapter whose own checks raise is listed as unavailable, not a traceback."""
    try:
        reason = adapter.unavailable_reason()
        return reason, (list(adapter.supported_classes()) if reason is None else [])
    except Exception as exc:
        return f"its availability check raised {type(exc).__name__}: {exc}", []


def _plugins(args: argparse.Namespace) -> int:
    print(plugins_report())
    return 0


def _train(args: argparse.Namespace) -> int:
    from .train.cli import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fracneuron", description="Fractional-order memory for spiking neurons.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plugins", help="list loaded plugins, adapters, memories, methods and surrogates")
    p.set_defaults(handler=_plugins)
    try:
        from .train.cli import add_arguments
    except ImportError:  # the training job is optional
        add_arguments = None
    if add_arguments is not None:
        t = sub.add_parser("train", help="train a fractional SNN on offline data")
        add_arguments(t)
        t.set_defaults(handler=_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
