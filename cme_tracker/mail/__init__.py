"""Outgoing mail: queued in the transaction that decides to send it, delivered by a job, retried with
back-off.

A message is composed when it is queued (in the recipient's language, plain text plus HTML), kept in the
``outgoing_mail`` table until it is delivered, and then reduced to its envelope: the body, which may hold a
one-time link, is not kept after delivery. Delivery goes to the SMTP server ``CME_MAIL_URL`` names, or,
without one, into ``<instance>/outbox/`` as ``.eml`` files.
"""
