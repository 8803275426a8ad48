"""md5-crypt, the v2 token derivation and AES, against openssl and firmware vectors."""

from __future__ import annotations

import base64
import shutil
import string
import subprocess

from Crypto.Cipher import AES
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.miner_hub.protocol.errors import ParseError
from custom_components.miner_hub.protocol.whatsminer.crypto import (
    Token,
    decrypt,
    encrypt,
    md5_crypt,
    md5_crypt_body,
    zero_pad,
)

OPENSSL = shutil.which("openssl")
SALT_ALPHABET = "./" + string.digits + string.ascii_letters

# Vector A: a real miner's get_token capture, factory password (whatsminer.md §3.3).
VECTOR_A = {
    "password": "admin",
    "salt": "BQ5hoXV9",
    "newsalt": "P5NTAcEp",
    "time": "5039",
    "key": "RxmaDUO33TS7O26yeMHZ81",
    "sign": "W7vZynrBZBwIIjR5dvDJb0",
    "aes_key": "199e0a202039bb7b558db7a54697dca29cb278055b7e659a127fb844d5a2fbf6",
    "plaintext": b'{"cmd": "set_led", "param": "auto", "token": "W7vZynrBZBwIIjR5dvDJb0"}',
    "zero_padded": (
        "K5NDiWBAqb++VrZy8g0NEQIjuugciGp5pA1ArzU2pL5T0g9hnCnTqX+tw8fKdbvv0B+dqNxA"
        "E78mYHAQQuguh0RImH7pFknHfcgQaznu3cE="
    ),
    "pkcs7_padded": (
        "K5NDiWBAqb++VrZy8g0NEQIjuugciGp5pA1ArzU2pL5T0g9hnCnTqX+tw8fKdbvv0B+dqNxA"
        "E78mYHAQQuguh894K3KWpPDX3VDVdvuYeTc="
    ),
}
# Vector B: the constants of public mocks (whatsminer.md §3.3).
VECTOR_B = {
    "password": "admin",
    "salt": "5QAHiKMb",
    "newsalt": "kowEj187",
    "time": "0000",
    "key": "x5JSSQzqF0lEACIGSL0Ld1",
    "sign": "FuAsr25h02Hee7J8zszS71",
    "aes_key": "2b2d94b56224740c203daf81a7dc08729bd5a71d8bbe37350da63a68991cb72c",
    "plaintext": b'{"cmd": "set_led", "param": "auto", "token": "FuAsr25h02Hee7J8zszS71"}',
    "zero_padded": (
        "dobUXE5XuQKTKRNDhWkBlk31SIKYgKHWNNNwfnf/y5sEzgpWvG27mO8aXBYlAH7S7ThfrTpH"
        "k0fKoj5JgOJL91ZiGLdjnG+RXFdGn9bUUSQ="
    ),
    "pkcs7_padded": (
        "dobUXE5XuQKTKRNDhWkBlk31SIKYgKHWNNNwfnf/y5sEzgpWvG27mO8aXBYlAH7S7ThfrTpH"
        "k0fKoj5JgOJL94plTrULP2gnhman2o/3H2c="
    ),
}


def openssl_md5_crypt(salt: str, passwords: list[bytes]) -> list[str]:
    """Hash every password with ``openssl passwd -1`` in one run (one per line)."""
    assert OPENSSL is not None
    result = subprocess.run(  # noqa: S603 (our own generated arguments)
        [OPENSSL, "passwd", "-1", "-salt", salt, "-stdin"],
        input=b"".join(password + b"\n" for password in passwords),
        capture_output=True,
        check=True,
    )
    return result.stdout.decode().splitlines()


@pytest.mark.skipif(OPENSSL is None, reason="the openssl binary is required")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    salt=st.text(SALT_ALPHABET, min_size=1, max_size=10),
    passwords=st.lists(
        # One password per line on openssl's stdin: no NUL, CR or LF inside.
        st.binary(min_size=1, max_size=70).filter(lambda b: not {0, 10, 13} & set(b)),
        min_size=1,
        max_size=8,
    ),
)
def test_md5_crypt_matches_openssl(salt: str, passwords: list[bytes]) -> None:
    """Our md5-crypt equals openssl's for arbitrary passwords and salts."""
    expected = openssl_md5_crypt(salt, passwords)
    assert [md5_crypt(password, salt) for password in passwords] == expected


@pytest.mark.skipif(OPENSSL is None, reason="the openssl binary is required")
def test_md5_crypt_block_boundaries_match_openssl() -> None:
    """Lengths around the 16-byte MD5 block and unicode text match openssl."""
    passwords = [b"x" * length for length in (1, 7, 8, 15, 16, 17, 31, 32, 33, 64)]
    passwords += ["pässwörd".encode(), "矿机".encode(), b"a b\tc"]
    expected = openssl_md5_crypt("BQ5hoXV9", passwords)
    assert [md5_crypt(password, "BQ5hoXV9") for password in passwords] == expected


def test_md5_crypt_accepts_str_bytes_and_prefixed_salt() -> None:
    """Salt given with the $1$ prefix or more than 8 characters is cut as crypt does."""
    expected = "$1$BQ5hoXV9$RxmaDUO33TS7O26yeMHZ81"
    assert md5_crypt("admin", "BQ5hoXV9") == expected
    assert md5_crypt(b"admin", b"$1$BQ5hoXV9$ignored") == expected
    assert md5_crypt("admin", "BQ5hoXV9EXTRA") == expected
    assert md5_crypt_body("admin", "BQ5hoXV9") == "RxmaDUO33TS7O26yeMHZ81"


@pytest.mark.parametrize("vector", [VECTOR_A, VECTOR_B], ids=["A", "B"])
def test_token_derivation_matches_vectors(vector: dict[str, object]) -> None:
    """Key, sign and AES key equal the reference values byte for byte."""
    token = Token.derive(
        str(vector["password"]),
        str(vector["salt"]),
        str(vector["newsalt"]),
        str(vector["time"]),
        obtained_at=0.0,
    )
    assert token.key == vector["key"]
    assert token.sign == vector["sign"]
    assert token.aes_key.hex() == vector["aes_key"]


@pytest.mark.parametrize("vector", [VECTOR_A, VECTOR_B], ids=["A", "B"])
def test_encryption_matches_vectors(vector: dict[str, object]) -> None:
    """Zero-padded ciphertext is exact; both paddings decrypt to the plaintext."""
    key = bytes.fromhex(str(vector["aes_key"]))
    plaintext = vector["plaintext"]
    assert isinstance(plaintext, bytes)
    assert encrypt(key, plaintext) == vector["zero_padded"]
    assert decrypt(key, str(vector["zero_padded"])) == plaintext
    assert decrypt(key, str(vector["pkcs7_padded"])) == plaintext


def test_sign_uses_last_four_characters_of_time() -> None:
    """A mock that sends a full timestamp yields the same sign as firmware's 4 digits."""
    short = Token.derive("admin", "BQ5hoXV9", "P5NTAcEp", "5039", 0.0)
    full = Token.derive("admin", "BQ5hoXV9", "P5NTAcEp", "1678185039", 0.0)
    assert short.sign == full.sign == VECTOR_A["sign"]


def test_vector_a_reply_decrypts() -> None:
    """The reference's zero-padded encrypted reply of vector A decrypts."""
    key = bytes.fromhex(str(VECTOR_A["aes_key"]))
    reply = (
        "C/UGIQ8LwD66stwLyOOcM6Rs/AgNjAuq2GMwrwo3W7J3lluOVpsOSpBcGhtOpg0QfXzqoVOP"
        "WCksKSnoq5FdlDzf1zswfpjLBG0UghjHFmJyj0Iw94hY+ImJc0aQQ3bU"
    )
    assert decrypt(key, reply) == (
        b'{"STATUS":"S","When":1678185039,"Code":131,'
        b'"Msg":"API command OK","Description":""}'
    )


def test_token_repr_hides_secrets() -> None:
    """Neither the sign nor the keys appear in repr."""
    token = Token.derive("admin", "BQ5hoXV9", "P5NTAcEp", "5039", 12.0)
    text = repr(token)
    assert "W7vZ" not in text
    assert "RxmaDUO" not in text
    assert token.aes_key.hex() not in text
    assert "12.0" in text


def test_zero_pad_adds_nothing_when_aligned() -> None:
    """Zero padding fills to the block size and leaves aligned data alone."""
    assert zero_pad(b"x" * 16) == b"x" * 16
    assert zero_pad(b"x" * 17) == b"x" * 17 + b"\0" * 15
    assert zero_pad(b"") == b""


@pytest.mark.parametrize(
    ("ciphertext", "message"),
    [
        ("not base64!", "not valid base64"),
        (base64.b64encode(b"short").decode(), "invalid length"),
        ("", "invalid length"),
    ],
)
def test_decrypt_rejects_malformed_ciphertext(ciphertext: str, message: str) -> None:
    """Bad base64 or a length that is not a block multiple is a ParseError."""
    with pytest.raises(ParseError, match=message):
        decrypt(bytes(32), ciphertext)


def test_decrypt_keeps_aligned_plaintext() -> None:
    """A block-aligned plaintext without padding comes back unchanged."""
    key = bytes(range(32))
    plaintext = b'{"a":"0123456"}' + b"}"
    ciphertext = AES.new(key, AES.MODE_ECB).encrypt(plaintext)
    assert decrypt(key, base64.b64encode(ciphertext).decode()) == plaintext
