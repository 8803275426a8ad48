"""Spiderpool request signing: RSA PKCS#1 v1.5 over MD5 of ``dataJson|timestamp``.

The console hands out the private key as bare base64 PKCS#8; a PEM is read too.
"""

from __future__ import annotations

import base64
import binascii
import re

from Crypto.Hash import MD5
from Crypto.PublicKey import RSA
from Crypto.Signature import pkcs1_15

from ..errors import InvalidParameter

_PEM_ARMOUR = re.compile(r"-----(BEGIN|END)[^-]*-----")


class InvalidPrivateKey(InvalidParameter):
    """The private key is not an RSA private key in a form we read."""


def load_private_key(text: str) -> RSA.RsaKey:
    """Read the console's bare base64 PKCS#8 key, or a PEM; reject anything else."""
    body = re.sub(r"\s+", "", _PEM_ARMOUR.sub("", text or ""))
    try:
        key = RSA.import_key(base64.b64decode(body, validate=True))
    except (binascii.Error, ValueError, IndexError, TypeError) as err:
        raise InvalidPrivateKey("the private key is not a valid RSA key") from err
    if not key.has_private():
        raise InvalidPrivateKey("this is a public key; the private key is needed")
    return key


def sign(key: RSA.RsaKey, data_json: str, timestamp_ms: int) -> str:
    """base64(RSA PKCS#1 v1.5 (MD5) over ``dataJson|timestamp``)."""
    digest = MD5.new(f"{data_json}|{timestamp_ms}".encode())  # noqa: S303 (the API's scheme)
    return base64.b64encode(pkcs1_15.new(key).sign(digest)).decode("ascii")
