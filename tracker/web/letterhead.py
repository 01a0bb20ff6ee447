"""The unit's letterhead on the documents that leave the meeting.

Hospital, unit and address come from the configuration (``TRACKER_HOSPITAL_NAME``,
``TRACKER_UNIT_NAME``, ``TRACKER_UNIT_ADDRESS``) with the logo file
(``TRACKER_LOGO_PATH``): they are set once when the site is installed, with the
server's files, not edited from the application. A logo that cannot be used is
logged and left out: a document is never refused for its letterhead.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

logger = logging.getLogger(__name__)

#: A logo is a small image; a bigger file is a mistake in the configuration.
LOGO_MAX_BYTES = 1024 * 1024

_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


@dataclass(frozen=True)
class Logo:
    data: bytes
    mimetype: str

    @property
    def data_uri(self) -> str:
        return f"data:{self.mimetype};base64,{base64.b64encode(self.data).decode('ascii')}"


@dataclass(frozen=True)
class Letterhead:
    hospital: str | None
    unit: str | None
    address: str | None
    logo: Logo | None

    def __bool__(self) -> bool:
        return bool(self.hospital or self.unit or self.address or self.logo)


def read_logo(path: str | None) -> Logo | None:
    """The PNG or JPEG image at ``path``, or None (logged) when it is not one."""
    if not path:
        return None
    try:
        file = Path(path)
        if file.stat().st_size > LOGO_MAX_BYTES:
            logger.warning("Logo %s is larger than %d bytes: left out", path, LOGO_MAX_BYTES)
            return None
        data = file.read_bytes()
    except OSError as exc:
        logger.warning("Logo %s cannot be read (%s): left out", path, exc)
        return None
    for signature, mimetype in _SIGNATURES.items():
        if data.startswith(signature):
            return Logo(data, mimetype)
    logger.warning("Logo %s is neither a PNG nor a JPEG image: left out", path)
    return None


def letterhead() -> Letterhead:
    config = current_app.config
    return Letterhead(
        hospital=config.get("HOSPITAL_NAME") or None,
        unit=config.get("UNIT_NAME") or None,
        address=config.get("UNIT_ADDRESS") or None,
        logo=read_logo(config.get("LOGO_PATH")),
    )
