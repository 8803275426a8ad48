"""Whatsminer cryptography: API v2's md5-crypt tokens and API v3's SHA-256 ones.

API v2 derives a write token with md5-crypt and encrypts whole requests with
AES-256-ECB (zero padding). Python 3.13 removed the ``crypt`` module and passlib is
unmaintained, so md5-crypt (the ``$1$`` scheme of ``openssl passwd -1``) is
implemented here; the tests pin it to the real ``openssl`` binary and to captured
firmware vectors. API v3 signs each write with SHA-256 and encrypts the parameters
of two commands with AES-256-ECB (PKCS#7 padding) under that digest.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from functools import partial
import hashlib
import json
from typing import Any

from Crypto.Cipher import AES
from Crypto.Util.Padding import pad

from ..errors import ParseError

_MAGIC = b"$1$"
_ITOA64 = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Byte triples of the final digest, in the order md5-crypt encodes them.
_ENCODING_GROUPS = ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5))
_BLOCK = 16
# MD5 is the firmware's scheme, not a security choice of ours.
_md5 = partial(hashlib.md5, usedforsecurity=False)


def _to64(value: int, length: int) -> bytes:
    out = bytearray()
    for _ in range(length):
        out.append(_ITOA64[value & 0x3F])
        value >>= 6
    return bytes(out)


def md5_crypt(password: str | bytes, salt: str | bytes) -> str:
    """Return the md5-crypt hash ``$1$<salt>$<body>``, as ``openssl passwd -1``."""
    secret = password.encode() if isinstance(password, str) else password
    raw_salt = salt.encode() if isinstance(salt, str) else salt
    raw_salt = raw_salt.removeprefix(_MAGIC).split(b"$", 1)[0][:8]

    alternate = _md5(secret + raw_salt + secret).digest()
    context = _md5(secret + _MAGIC + raw_salt)
    for remaining in range(len(secret), 0, -_BLOCK):
        context.update(alternate[: min(_BLOCK, remaining)])
    length = len(secret)
    while length:
        context.update(b"\0" if length & 1 else secret[:1])
        length >>= 1
    digest = context.digest()

    for round_number in range(1000):
        step = _md5(secret if round_number & 1 else digest)
        if round_number % 3:
            step.update(raw_salt)
        if round_number % 7:
            step.update(secret)
        step.update(digest if round_number & 1 else secret)
        digest = step.digest()

    body = b"".join(
        _to64((digest[a] << 16) | (digest[b] << 8) | digest[c], 4)
        for a, b, c in _ENCODING_GROUPS
    )
    body += _to64(digest[11], 2)
    return (_MAGIC + raw_salt + b"$" + body).decode("ascii")


def md5_crypt_body(password: str | bytes, salt: str | bytes) -> str:
    """Return only the hash body (the part after the third ``$``)."""
    return md5_crypt(password, salt).rsplit("$", 1)[1]


@dataclass(frozen=True, slots=True)
class Token:
    """A write token derived from one ``get_token`` reply.

    ``key`` and ``aes_key`` are secrets: they are kept out of ``repr``.
    """

    sign: str = field(repr=False)
    key: str = field(repr=False)
    aes_key: bytes = field(repr=False)
    obtained_at: float

    @classmethod
    def derive(
        cls, password: str, salt: str, newsalt: str, time: str, obtained_at: float
    ) -> Token:
        """Derive key, sign and AES key as the firmware does (md5-crypt, not md5)."""
        key = md5_crypt_body(password, salt)
        sign = md5_crypt_body(key + time[-4:], newsalt)
        aes_key = hashlib.sha256(key.encode("ascii")).digest()
        return cls(sign=sign, key=key, aes_key=aes_key, obtained_at=obtained_at)


def zero_pad(data: bytes) -> bytes:
    """Pad with NUL bytes to a multiple of 16 (nothing added when aligned)."""
    return data + b"\0" * (-len(data) % _BLOCK)


def encrypt(aes_key: bytes, plaintext: bytes) -> str:
    """AES-256-ECB over the zero-padded bytes, base64-encoded."""
    cipher = AES.new(aes_key, AES.MODE_ECB)
    return base64.b64encode(cipher.encrypt(zero_pad(plaintext))).decode("ascii")


def decrypt(aes_key: bytes, ciphertext_b64: str) -> bytes:
    """Decrypt a base64 reply; strip zero padding and tolerate PKCS#7 padding."""
    try:
        ciphertext = base64.b64decode(ciphertext_b64, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ParseError("encrypted reply is not valid base64") from err
    if not ciphertext or len(ciphertext) % _BLOCK:
        raise ParseError("encrypted reply has an invalid length")
    plaintext = AES.new(aes_key, AES.MODE_ECB).decrypt(ciphertext)
    return _strip_padding(plaintext)


def _strip_padding(plaintext: bytes) -> bytes:
    pad = plaintext[-1]
    if 1 <= pad <= _BLOCK and plaintext.endswith(bytes([pad]) * pad):
        return plaintext[:-pad]
    return plaintext.rstrip(b"\0")


def v3_token(cmd: str, password: str, salt: str, ts: int) -> tuple[str, bytes]:
    """API v3: the 8-character token and the SHA-256 digest (the AES key)."""
    digest = hashlib.sha256(f"{cmd}{password}{salt}{ts}".encode()).digest()
    return base64.b64encode(digest).decode("ascii")[:8], digest


def v3_encrypt_param(digest: bytes, param: Any) -> str:
    """API v3: base64(AES-256-ECB(PKCS#7(compact JSON))) with the command's digest."""
    plaintext = json.dumps(param, separators=(",", ":")).encode()
    cipher = AES.new(digest, AES.MODE_ECB)
    return base64.b64encode(cipher.encrypt(pad(plaintext, _BLOCK))).decode("ascii")
