"""Entry point for the patient pages alone: ``gunicorn wsgi_patient:app``.

A hospital may expose this application through its reverse proxy (in a DMZ)
while the staff application stays on the closed network: it serves the
questionnaire links and nothing else (no login, no staff page). It runs in
production mode unless ``TRACKER_ENV`` says otherwise.
"""

import os

os.environ.setdefault("TRACKER_ENV", "production")

from tracker import create_app

app = create_app(patient_only=True)
