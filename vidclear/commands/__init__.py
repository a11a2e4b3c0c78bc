"""The commands, one thin module each: ``add_parser`` declares its flags, ``run`` does the work.

A command loads its config, calls the engine (``vidclear/engine``) or a
library module, and prints; nothing else lives here. ``COMMANDS`` is the order
``vidclear --help`` lists them in.
"""

from __future__ import annotations

from . import backends, batch, bench, build_engine, enhance, evaluate, export, models, serve

COMMANDS = {m.NAME: m for m in (enhance, batch, serve, models, backends, evaluate, export, build_engine, bench)}
