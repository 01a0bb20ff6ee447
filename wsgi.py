"""Entry point for production WSGI servers: ``gunicorn wsgi:app``.

Anything served through this module runs in production mode unless
``TRACKER_ENV`` says otherwise, so a missing secret key stops start-up.
"""

import os

os.environ.setdefault("TRACKER_ENV", "production")

from tracker import create_app

app = create_app()
