"""A real OpenLDAP server (Debian's ``slapd``) for the directory login tests.

``SlapdServer`` writes a ``slapd.conf`` into a temporary folder (an mdb
database, the standard schemas plus Active Directory's ``sAMAccountName`` and
``userAccountControl``, the memberOf overlay, a self-signed certificate for
StartTLS made with the ``openssl`` command), starts slapd on a free local port,
waits until it answers, and loads the test entries over LDAP.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SLAPD = "/usr/sbin/slapd"
SUFFIX = "dc=chu-test,dc=fr"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-secret"
USERS = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
SEARCH_DN = f"cn=rcp-search,{SUFFIX}"
SEARCH_PASSWORD = "search-secret"
#: How long a busy machine may take to start slapd.
START_TIMEOUT = 60.0

AD_SCHEMA = """
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.55555.1.1 NAME 'hospitalAccount' AUXILIARY
  MAY ( sAMAccountName $ userAccountControl ) )
"""


def available() -> bool:
    return Path(SLAPD).exists() and shutil.which("openssl") is not None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _make_certificates(folder: Path) -> None:
    """A test CA and a server certificate for 127.0.0.1 and localhost."""

    def run(command: str) -> None:
        subprocess.run(["openssl", *command.split()], check=True, capture_output=True, cwd=folder)

    run(
        "req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=TestCA -keyout ca.key -out ca.pem"
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"
    )
    run("req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out server.csr")
    (folder / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n"
    )
    run(
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2"
        " -out server.pem -extfile server.ext"
    )


@dataclass
class SlapdServer:
    folder: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> str:
        return str(self.folder / "ca.pem")

    def configure(self) -> None:
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        (self.folder / "ad.schema").write_text(AD_SCHEMA)
        _make_certificates(self.folder)
        conf = f"""
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include {self.folder}/ad.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile {self.folder}/slapd.pid
argsfile {self.folder}/slapd.args
TLSCACertificateFile {self.folder}/ca.pem
TLSCertificateFile {self.folder}/server.pem
TLSCertificateKeyFile {self.folder}/server.key

database mdb
maxsize 10485760
suffix "{SUFFIX}"
rootdn "{ADMIN_DN}"
rootpw {ADMIN_PASSWORD}
directory {data}
overlay memberof
access to attrs=userPassword by self read by anonymous auth by * none
access to * by users read by * none
"""
        (self.folder / "slapd.conf").write_text(conf)

    def start(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [SLAPD, "-f", str(self.folder / "slapd.conf"), "-h", f"{self.url}/", "-d", "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                pass
            try:
                # Not listening yet: wait a moment for slapd to stop, which it
                # does only when its configuration is wrong.
                self.process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            errors = self.process.stderr.read() if self.process.stderr else b""
            raise RuntimeError("slapd stopped: " + errors.decode(errors="replace"))
        self.stop()
        raise RuntimeError(f"slapd did not answer on port {self.port} within {START_TIMEOUT}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stderr:
            self.process.stderr.close()
        self.process = None

    @contextmanager
    def admin(self) -> Iterator[Any]:
        """A connection as the server's administrator, closed afterwards."""
        import ldap3

        connection = ldap3.Connection(
            ldap3.Server(self.url), ADMIN_DN, ADMIN_PASSWORD, auto_bind=True, raise_exceptions=True
        )
        try:
            yield connection
        finally:
            connection.unbind()

    def load(self) -> None:
        with self.admin() as conn:
            conn.add(SUFFIX, ["dcObject", "organization"], {"o": "CHU test", "dc": "chu-test"})
            conn.add(USERS, ["organizationalUnit"], {"ou": "people"})
            conn.add(GROUPS, ["organizationalUnit"], {"ou": "groups"})
            conn.add(
                SEARCH_DN,
                ["person"],
                {"cn": "rcp-search", "sn": "search", "userPassword": SEARCH_PASSWORD},
            )
            for login, name, password, control in PEOPLE:
                conn.add(
                    person_dn(login),
                    ["inetOrgPerson", "hospitalAccount"],
                    {
                        "uid": login,
                        "sAMAccountName": login,
                        "cn": name,
                        "sn": name.split()[-1],
                        "mail": f"{login}@chu-test.fr",
                        "userPassword": password,
                        "userAccountControl": control,
                    },
                )
            for group in GROUP_MEMBERS:
                conn.add(
                    group_dn(group),
                    ["groupOfNames"],
                    {"cn": group, "member": group_members(group)},
                )


def person_dn(login: str) -> str:
    return f"uid={login},{USERS}"


def group_members(group: str) -> list[str]:
    """The member DNs of a test group; the search account too, as a group of
    names cannot be empty."""
    return [SEARCH_DN, *(person_dn(login) for login in GROUP_MEMBERS[group])]


def group_dn(name: str) -> str:
    return f"cn={name},{GROUPS}"


#: (login, full name, password, userAccountControl: 512 normal, 514 disabled)
PEOPLE = [
    ("cmartin", "Claire Martin", "Radiologue-2026!", 512),
    ("pdurand", "Paul Durand", "Coordination-2026!", 512),
    ("ldisabled", "Louis Parti", "Parti-2026!", 514),
    ("nogroup", "Nadia Sansgroupe", "Sansgroupe-2026!", 512),
]
GROUP_MEMBERS = {
    "RCP-Radiologues": ["cmartin"],
    "RCP-Coordination": ["pdurand", "cmartin"],
    "RCP-Anciens": ["ldisabled"],
    "Cafeteria": ["nogroup"],
}
