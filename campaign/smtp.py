"""Django's SMTP backend, with the envelope's addresses checked more cheaply
(campaign/mime.py envelope_address: the same result). Named in settings'
EMAIL_BACKEND when EMAIL_HOST is set."""

import smtplib

from django.conf import settings
from django.core.mail.backends import smtp

from campaign.mime import envelope_address


class EmailBackend(smtp.EmailBackend):
    # Django's _send (5.2) with envelope_address for sanitize_address: the one
    # hook is the whole method. Django's full parse of two plain addresses was
    # a third of the CPU left per update copy (bench/README.md).
    def _send(self, email_message):
        if not email_message.recipients():
            return False
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        from_email = envelope_address(email_message.from_email, encoding)
        recipients = [
            envelope_address(addr, encoding) for addr in email_message.recipients()
        ]
        message = email_message.message()
        try:
            self.connection.sendmail(
                from_email, recipients, message.as_bytes(linesep="\r\n")
            )
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True
