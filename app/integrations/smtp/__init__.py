"""SMTP: recovery email through any mail server with aiosmtplib."""
