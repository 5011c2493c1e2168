"""`python -m bot ...` is the same as the `newsbot` command."""

import sys

from bot.cli import main

sys.exit(main())
