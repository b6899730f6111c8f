"""A hatchling build hook: regenerate the [tool.derivgen] modules when a wheel or sdist is built.

In the downstream project's pyproject.toml::

    [build-system]
    requires = ["hatchling", "derivgen"]
    build-backend = "hatchling.build"

    [tool.hatch.build.hooks.derivgen]

Hatchling finds this module through derivgen's ``hatch`` entry point. The hook
does what ``derivgen build`` does (stale modules rewritten, up-to-date ones left
alone) and marks the generated files as build artifacts, so they are packaged
even when version control ignores them.
"""

from __future__ import annotations

from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.plugin import hookimpl

from . import build
from .cli import format_error
from .errors import DerivgenError


class DerivgenBuildHook(BuildHookInterface):
    PLUGIN_NAME = "derivgen"

    def initialize(self, version: str, build_data: dict) -> None:
        root = Path(self.root)
        try:
            config = build.load(root / "pyproject.toml")
            outcomes = build.plan(config)
            for outcome in outcomes:
                build.write(outcome)
                self.app.display_info(f"derivgen: {outcome.module.output.relative_to(root).as_posix()}: "
                                      f"{'written' if outcome.changed else 'up to date'}")
        except DerivgenError as exc:
            self.app.abort(format_error(exc))  # exits: the build fails with derivgen's message
        build_data.setdefault("artifacts", []).extend(
            "/" + o.module.output.relative_to(root).as_posix() for o in outcomes)


@hookimpl
def hatch_register_build_hook():
    return DerivgenBuildHook
