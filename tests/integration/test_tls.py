"""TLS served directly: https:// for the page, wss:// for signaling."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import MakeSystem


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


async def test_the_page_and_signaling_are_served_over_tls(make_system: MakeSystem,
                                                          tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    system = await make_system({"sslContext": server_tls, "signalingHost": "127.0.0.1"})
    client_tls = ssl.create_default_context(cafile=str(cert))
    client_tls.check_hostname = False  # the certificate names localhost; we dial 127.0.0.1
    port = system.server.port
    async with aiohttp.ClientSession() as session:
        async with session.get(f"https://127.0.0.1:{port}/", ssl=client_tls) as page:
            assert page.status == 200 and "<video" in await page.text()
        async with session.ws_connect(f"wss://127.0.0.1:{port}/", ssl=client_tls) as ws:
            assert (await ws.receive_json())["type"] == "config"
        with pytest.raises(aiohttp.ClientError):  # plain HTTP to the TLS port: no answer
            async with session.get(f"http://127.0.0.1:{port}/") as plain:
                await plain.read()
