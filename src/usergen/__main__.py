"""Allows ``python -m usergen``."""

from usergen.entry import main

main()
