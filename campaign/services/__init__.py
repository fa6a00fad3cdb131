"""Every write the campaign app makes. Views, admin actions, tasks and commands call
these; they take keyword-only arguments and own their transactions.

- signing.py: a supporter signs and confirms; signature_insert.py: a first
  signing stored in one statement; supporter_emails.py: the emails sent to them.
- letter_previews.py: an organiser previews a letter template, or emails it to
  themselves as a test letter.
- pages.py: campaign pages to render afresh after an edit (the page cache).
- delivery/: the outbox: queueing, sending and recording emails.
"""
