"""The hospital directory (LDAP, Active Directory): who a login name is, whether
their password is right, and which groups they are in.

Configured by the ``TRACKER_LDAP_*`` settings (``tracker.config``); without
``TRACKER_LDAP_URL`` there is no directory and every account is local.  The
password is checked by binding as the person, never stored.  Tests put a
``Directory`` of their own in ``app.extensions["directory"]``.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import current_app

logger = logging.getLogger(__name__)

#: Active Directory's userAccountControl flag of a disabled account.
AD_ACCOUNTDISABLE = 0x2


class DirectoryUnavailable(Exception):
    """The directory did not answer, or refused the search account."""


@dataclass(frozen=True)
class DirectoryEntry:
    """One person in the directory, as the application reads them."""

    dn: str
    email: str | None
    full_name: str | None
    disabled: bool = False
    #: Distinguished names of the person's groups, lower-case.
    groups: frozenset[str] = field(default_factory=frozenset)


class Directory(Protocol):
    def find(self, login: str) -> DirectoryEntry | None:
        """The person with this user name or e-mail; None if nobody (or several)."""

    def check_password(self, entry: DirectoryEntry, password: str) -> bool:
        """Whether ``password`` is the person's (a bind as them)."""

    def lookup(self, dn: str) -> DirectoryEntry | None:
        """The person at ``dn`` if the directory still lists them under the user base."""


def normalize_dn(dn: str) -> str:
    """A distinguished name compared as the directory does: case and the spaces
    around separators do not count."""
    parts = []
    for rdn in dn.split(","):
        name, _, value = rdn.partition("=")
        parts.append(f"{name.strip().lower()}={value.strip().lower()}")
    return ",".join(parts)


def is_disabled(attribute: str, values: list[Any]) -> bool:
    """The person is disabled: AD's ``userAccountControl`` has bit 2 set; any
    other attribute says so with a true-looking value (TRUE, yes, disabled)."""
    for value in values:
        text = str(value).strip()
        if attribute.lower() == "useraccountcontrol":
            try:
                if int(text) & AD_ACCOUNTDISABLE:
                    return True
            except ValueError:
                continue
        elif text.lower() in {"true", "yes", "1", "disabled"}:
            return True
    return False


@dataclass(frozen=True)
class LdapSettings:
    url: str
    start_tls: bool = False
    ca_file: str | None = None
    bind_dn: str | None = None
    bind_password: str | None = None
    user_base: str = ""
    user_filter: str = "(|(uid={login})(mail={login}))"
    email_attribute: str = "mail"
    name_attribute: str = "cn"
    disabled_attribute: str | None = None
    group_base: str | None = None
    #: ``memberOf`` (the person's attribute, AD) or empty: a search of the
    #: groups under ``group_base`` whose ``group_member_attribute`` is the person.
    group_attribute: str | None = None
    group_member_attribute: str = "member"
    timeout: int = 5

    @classmethod
    def from_config(cls, config: Any) -> LdapSettings | None:
        url = config.get("LDAP_URL")
        if not url:
            return None
        return cls(
            url=url,
            start_tls=bool(config.get("LDAP_START_TLS")),
            ca_file=config.get("LDAP_CA_FILE") or None,
            bind_dn=config.get("LDAP_BIND_DN") or None,
            bind_password=config.get("LDAP_BIND_PASSWORD") or None,
            user_base=config.get("LDAP_USER_BASE") or "",
            user_filter=config.get("LDAP_USER_FILTER") or cls.user_filter,
            email_attribute=config.get("LDAP_EMAIL_ATTRIBUTE") or "mail",
            name_attribute=config.get("LDAP_NAME_ATTRIBUTE") or "cn",
            disabled_attribute=config.get("LDAP_DISABLED_ATTRIBUTE") or None,
            group_base=config.get("LDAP_GROUP_BASE") or None,
            group_attribute=config.get("LDAP_GROUP_ATTRIBUTE") or None,
            group_member_attribute=config.get("LDAP_GROUP_MEMBER_ATTRIBUTE") or "member",
            timeout=int(config.get("LDAP_TIMEOUT") or 5),
        )


class LdapDirectory:
    """A directory reached with ldap3 (pure Python)."""

    def __init__(self, settings: LdapSettings) -> None:
        self.settings = settings

    def _server(self) -> Any:
        import ldap3

        tls = None
        if self.settings.start_tls or self.settings.url.lower().startswith("ldaps://"):
            tls = ldap3.Tls(
                validate=ssl.CERT_REQUIRED,
                ca_certs_file=self.settings.ca_file,
                version=ssl.PROTOCOL_TLS_CLIENT,
            )
        return ldap3.Server(
            self.settings.url, get_info=ldap3.NONE, tls=tls, connect_timeout=self.settings.timeout
        )

    def _connect(self, user: str | None, password: str | None) -> Any:
        """An open, bound connection; ``DirectoryUnavailable`` if the server does
        not answer, ``ldap3`` bind errors (wrong password) pass through."""
        import ldap3
        from ldap3.core import exceptions as ldap_errors

        connection = ldap3.Connection(
            self._server(),
            user=user,
            password=password,
            receive_timeout=self.settings.timeout,
            raise_exceptions=True,
            auto_bind=ldap3.AUTO_BIND_NONE,
            read_only=True,
        )
        try:
            connection.open()
            if self.settings.start_tls:
                connection.start_tls()
            connection.bind()
        except ldap_errors.LDAPInvalidCredentialsResult:
            _close(connection)
            raise
        except (ldap_errors.LDAPException, OSError) as exc:
            _close(connection)
            logger.warning("The directory %s does not answer: %s", self.settings.url, exc)
            raise DirectoryUnavailable(str(exc)) from exc
        return connection

    def _search_connection(self) -> Any:
        from ldap3.core import exceptions as ldap_errors

        try:
            return self._connect(self.settings.bind_dn, self.settings.bind_password)
        except ldap_errors.LDAPInvalidCredentialsResult as exc:
            logger.error("The directory refused the search account %s", self.settings.bind_dn)
            raise DirectoryUnavailable("search account refused") from exc

    def _attributes(self) -> list[str]:
        names = [self.settings.email_attribute, self.settings.name_attribute]
        if self.settings.disabled_attribute:
            names.append(self.settings.disabled_attribute)
        if self.settings.group_attribute:
            names.append(self.settings.group_attribute)
        return names

    def _entry(self, connection: Any, raw: dict[str, Any]) -> DirectoryEntry:
        from ldap3.utils.conv import escape_filter_chars

        attributes = raw.get("attributes", {})

        def values(name: str | None) -> list[Any]:
            if not name:
                return []
            value = attributes.get(name)
            if value is None:
                return []
            return list(value) if isinstance(value, list | tuple) else [value]

        dn = raw["dn"]
        if self.settings.group_attribute:
            groups = {normalize_dn(str(v)) for v in values(self.settings.group_attribute)}
        elif self.settings.group_base:
            member = self.settings.group_member_attribute
            connection.search(
                self.settings.group_base,
                f"({member}={escape_filter_chars(dn)})",
                attributes=[],
            )
            groups = {normalize_dn(found["dn"]) for found in connection.response or []}
        else:
            groups = set()
        emails = values(self.settings.email_attribute)
        names = values(self.settings.name_attribute)
        return DirectoryEntry(
            dn=dn,
            email=str(emails[0]).strip().lower() if emails else None,
            full_name=str(names[0]).strip() if names else None,
            disabled=bool(self.settings.disabled_attribute)
            and is_disabled(
                self.settings.disabled_attribute or "", values(self.settings.disabled_attribute)
            ),
            groups=frozenset(groups),
        )

    def _search(self, base: str, query: str, scope: str) -> list[DirectoryEntry]:
        from ldap3.core import exceptions as ldap_errors

        connection = self._search_connection()
        try:
            try:
                connection.search(base, query, search_scope=scope, attributes=self._attributes())
            except ldap_errors.LDAPNoSuchObjectResult:
                return []
            found = [r for r in connection.response or [] if r.get("type") == "searchResEntry"]
            return [self._entry(connection, raw) for raw in found]
        except ldap_errors.LDAPException as exc:
            raise DirectoryUnavailable(str(exc)) from exc
        finally:
            _close(connection)

    def find(self, login: str) -> DirectoryEntry | None:
        from ldap3 import SUBTREE
        from ldap3.utils.conv import escape_filter_chars

        login = login.strip()
        if not login:
            return None
        query = self.settings.user_filter.replace("{login}", escape_filter_chars(login))
        found = self._search(self.settings.user_base, query, SUBTREE)
        # Two people answering the same name: nobody is let in as either.
        return found[0] if len(found) == 1 else None

    def lookup(self, dn: str) -> DirectoryEntry | None:
        from ldap3 import BASE

        if not normalize_dn(dn).endswith(normalize_dn(self.settings.user_base)):
            return None
        found = self._search(dn, "(objectClass=*)", BASE)
        return found[0] if found else None

    def check_password(self, entry: DirectoryEntry, password: str) -> bool:
        from ldap3.core import exceptions as ldap_errors

        # An empty password would be an anonymous bind, which "succeeds".
        if not password:
            return False
        try:
            connection = self._connect(entry.dn, password)
        except ldap_errors.LDAPInvalidCredentialsResult:
            return False
        _close(connection)
        return True


def _close(connection: Any) -> None:
    """Close a connection, whatever state a failure left it in."""
    from ldap3.core import exceptions as ldap_errors

    try:
        connection.unbind()
    except (ldap_errors.LDAPException, OSError):
        logger.debug("The directory connection could not say goodbye")
    raw = getattr(connection, "socket", None)
    if raw is not None:
        try:
            raw.close()
        except OSError:
            logger.debug("The directory connection was already closed")


def get_directory() -> Directory | None:
    """The site's directory, or None when logins are local only."""
    extensions = current_app.extensions
    if "directory" in extensions:
        directory: Directory | None = extensions["directory"]
        return directory
    settings = LdapSettings.from_config(current_app.config)
    return LdapDirectory(settings) if settings is not None else None


def directory_configured() -> bool:
    return current_app.extensions.get("directory") is not None or bool(
        current_app.config.get("LDAP_URL")
    )
