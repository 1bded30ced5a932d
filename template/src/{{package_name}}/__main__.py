"""`python -m` entry point for the management commands."""

from .cli import main

raise SystemExit(main())
