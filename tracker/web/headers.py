"""Security headers on every response.

Pages get a strict Content-Security-Policy: scripts, styles, images and fonts
only from this site, no inline script or style (templates must not use them;
a test reads every template), no plugins, no framing, forms posting only here;
the patient pages a stricter one still, with no script at all.
Other responses get the policy their kind needs: the follow-up chart (SVG)
keeps its inline styles but runs nothing, a PDF may open in the browser's
viewer, downloads run nothing at all.
"""

from __future__ import annotations

import logging

from flask import Response, current_app, request

logger = logging.getLogger(__name__)

PAGE_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
#: The patient pages (``tracker.selfreport.patient``), reached from outside the
#: hospital: no script at all, stylesheets and images from this site only (the
#: form controls' icons are data: images), forms posting only here.
PATIENT_POLICY = "; ".join(
    [
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
#: A chart served as an SVG file: inline presentation only; nothing in it may run.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
#: Browsers show a PDF in a viewer of their own that a stricter policy breaks.
PDF_POLICY = "frame-ancestors 'none'"
DOWNLOAD_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"

HSTS = "max-age=31536000"


def _policy(mimetype: str) -> str:
    if mimetype == "text/html":
        return PAGE_POLICY
    if mimetype == "image/svg+xml":
        return SVG_POLICY
    if mimetype == "application/pdf":
        return PDF_POLICY
    return DOWNLOAD_POLICY


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", _policy(response.mimetype or ""))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config["TRACKER_ENV"] == "production":
        # Browsers only heed it over HTTPS, which production is served on.
        headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint != "static":
        # Pages carry patient data: nothing kept on the disk of a shared
        # ward computer, nothing shown again by "back" after logging out.
        headers.setdefault("Cache-Control", "no-store")
    return response
