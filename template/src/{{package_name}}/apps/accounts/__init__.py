"""Accounts: the users of the service."""
