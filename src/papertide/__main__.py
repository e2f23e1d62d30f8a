"""``python -m papertide``: the command line, for when the ``papertide`` script is not on PATH."""

from papertide.cli import main

main(prog_name="papertide")
