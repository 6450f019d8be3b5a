"""``python -m trapline.cli``: the same as the ``trapline`` script."""

from trapline.cli.main import main

main()
