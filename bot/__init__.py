"""newsbot: news alerts for the companies and topics a team watches."""

__version__ = "0.1.0"
