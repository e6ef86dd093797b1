"""Allows ``python -m <package> …``, the same as the installed command."""

from .manage import main

main()
