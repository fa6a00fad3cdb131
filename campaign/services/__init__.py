"""Every write the campaign app makes. Views, admin actions, tasks and commands call
these; they take keyword-only arguments and own their transactions.

- signing.py: a supporter signs and confirms.
- delivery/: the outbox: queueing, sending and recording emails.
"""
