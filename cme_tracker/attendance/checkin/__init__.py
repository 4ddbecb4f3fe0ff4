"""Check-in and check-out scans: the rules the desk, the API and offline sync share.

A scan names a member (signed card or member number), a target (a lecture, or the whole symposium) and a
direction. Scans are applied in scan-time order, never twice: a retried nonce or a repeated scan answers with
the attendance that exists. Desks racing for the same member are settled by the database without locks held
across statements; the loser reads the winner's row and answers ``already_checked_in``.

``rules`` decides (pure), ``statements`` holds the SQL every scan runs on the driver, and ``service`` records,
replays and voids.
"""
