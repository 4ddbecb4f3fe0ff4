"""The bare endpoint the check-in benchmark compares with: Flask, the app's engine, one INSERT, no logic.

It parses the same JSON body, writes one row into ``scans`` in its own transaction and answers JSON, behind
the same gunicorn settings as ``cme-tracker serve``: what any endpoint that writes costs on this machine.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, jsonify, request
from sqlalchemy import insert

from cme_tracker.attendance.models import Scan
from cme_tracker.db import create_db_engine, utcnow

app = Flask(__name__)
engine = create_db_engine(os.environ["CME_DATABASE_URL"])
scans: Any = Scan.__table__


@app.post("/bare")
def bare() -> Any:
    body = request.get_json(force=True)
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(
            insert(scans).values(
                nonce=body.get("nonce"),
                raw_code=body.get("card"),
                direction=body.get("direction", "in"),
                scanned_at=now,
                received_at=now,
                method="qr",
                outcome="bare",
            )
        )
    return jsonify(status="ok"), 201


@app.get("/ping")
def ping() -> Any:
    return jsonify(status="ok")
