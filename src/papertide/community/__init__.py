"""Accounts, votes, comments, submissions and moderation."""
