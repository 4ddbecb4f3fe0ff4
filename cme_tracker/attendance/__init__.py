"""Attendance: the presence intervals that check-ins, check-outs and imports produce."""
