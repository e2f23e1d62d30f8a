"""Email digests: subscriptions, composing, an outbox, delivery over SMTP, and the schedule."""
