"""Text messages through the hospital's HTTP SMS gateway (``TRACKER_SMS_*``), off
by default. The gateway receives a JSON POST ``{"to": "+336...", "text": "..."}``
with the configured bearer token; any answer but 2xx is a failure."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from flask import current_app


class SmsError(Exception):
    """A message the gateway did not take (or no gateway is configured)."""


def enabled() -> bool:
    """Whether the site sends text messages (``cases.services.questionnaire_channel``
    asks the same setting)."""
    return bool(current_app.config.get("SMS_URL"))


def send(number: str, text: str) -> None:
    """Hand one message to the gateway; raises ``SmsError`` when it is refused."""
    url = current_app.config.get("SMS_URL")
    if not url:
        raise SmsError("no SMS gateway is configured (TRACKER_SMS_URL)")
    if not url.startswith(("http://", "https://")):
        raise SmsError("the SMS gateway address is not an http(s) address")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=json.dumps({"to": number, "text": text}).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {current_app.config.get('SMS_TOKEN') or ''}",
        },
        method="POST",
    )
    timeout = float(current_app.config.get("SMS_TIMEOUT", 10))
    try:
        # The scheme is checked above (http or https only), so no file: or other URL.
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310
            if not 200 <= response.status < 300:
                raise SmsError(f"gateway answered {response.status}")
    except urllib.error.HTTPError as error:
        raise SmsError(f"gateway answered {error.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise SmsError(f"gateway unreachable: {error}") from None
