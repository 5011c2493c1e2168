"""newsbot: news alerts for the companies and topics a team watches.

The packages, in data-flow order, are described in CONTRIBUTING.md; app.py is the composition root.
"""

__version__ = "0.1.0"
