"""The ``trapline`` command (``trapline.cli:main``): one module per group of commands.

``main.py`` builds the command; ``base.py`` has what the commands share. The platform's
commands run ``platform_commands.py`` and ``export_commands.py``, imported only when they run.
"""

from trapline.cli.main import app, main

__all__ = ["app", "main"]
