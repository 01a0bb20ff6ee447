"""A real directory for the login tests: Debian's OpenLDAP server (``slapd``)
started once per run on a free local port, or the tests skipped with a reason."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.auth import slapd


@pytest.fixture(scope="session")
def slapd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[slapd.SlapdServer]:
    if not slapd.available():
        pytest.skip(
            "slapd is not installed (apt-get install slapd): the directory login tests "
            "against a real LDAP server are skipped"
        )
    server = slapd.SlapdServer(tmp_path_factory.mktemp("slapd"))
    server.configure()
    server.start()
    try:
        server.load()
        yield server
    finally:
        server.stop()


@pytest.fixture
def ldap_settings(slapd_server: slapd.SlapdServer) -> dict[str, Any]:
    """An Active-Directory-like configuration (sAMAccountName, memberOf,
    userAccountControl) of the test server."""
    return {
        "LDAP_URL": slapd_server.url,
        "LDAP_BIND_DN": slapd.SEARCH_DN,
        "LDAP_BIND_PASSWORD": slapd.SEARCH_PASSWORD,
        "LDAP_USER_BASE": slapd.USERS,
        "LDAP_USER_FILTER": "(|(sAMAccountName={login})(mail={login}))",
        "LDAP_EMAIL_ATTRIBUTE": "mail",
        "LDAP_NAME_ATTRIBUTE": "cn",
        "LDAP_DISABLED_ATTRIBUTE": "userAccountControl",
        "LDAP_GROUP_ATTRIBUTE": "memberOf",
        "LDAP_TIMEOUT": 10,
    }


@pytest.fixture
def use_directory(app: Any, ldap_settings: dict[str, Any]) -> Iterator[Any]:
    """Logins go to the test directory; call with other settings to change them."""
    from tracker.auth.directory import LdapDirectory, LdapSettings

    def configure(**changes: Any) -> LdapDirectory:
        directory = LdapDirectory(LdapSettings.from_config({**ldap_settings, **changes}))  # type: ignore[arg-type]
        app.extensions["directory"] = directory
        return directory

    configure()
    try:
        yield configure
    finally:
        app.extensions.pop("directory", None)
