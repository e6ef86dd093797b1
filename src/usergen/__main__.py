"""Allows ``python -m usergen``."""

from usergen.cli import main

main()
