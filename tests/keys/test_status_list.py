"""Status lists: published W3C and IETF vectors by exact equality, round trips, hostile input."""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys import base64url, jose, jwk, status_list
from keys.jwk import PublicKey
from keys.signing import KeySigner
from keys.status_list import (
    Bitstring,
    InvalidStatusListToken,
    InvalidStatusSize,
    MalformedStatusList,
    StatusIndexOutOfRange,
    StatusListTooLarge,
    StatusListTooShort,
)
from schemas.errors import TaitoError

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
KEY = jwk.generate("p256")
SIGNER = KeySigner.for_key(KEY)


def _load(conformance: Path, *parts: str) -> Any:
    return json.loads((conformance / "status-list" / Path(*parts)).read_text())


def _gzip_u(data: bytes) -> str:
    return "u" + base64url.encode(gzip.compress(data, mtime=0))


# ------------------------------------------------------------------------------ W3C vectors


def test_w3c_all_zero_vector_decodes_to_published_facts(conformance: Path) -> None:
    vector = _load(conformance, "w3c-bsl-rec", "encodedList-all-zero-vector.json")
    bits = status_list.decode_bitstring(vector["encodedList"])
    assert len(bits.data) == vector["decoded_bytes"]
    assert bits.entries == vector["decoded_bits"]
    assert bits.set_indices() == vector["bits_set"]


def test_w3c_example_status_list_credential(conformance: Path) -> None:
    example = _load(
        conformance, "w3c-bsl-rec", "example-05-a-status-list-verifiable-credential.json"
    )
    entry = _load(conformance, "w3c-bsl-rec", "example-04-a-revocable-verifiable-credential.json")
    zero = _load(conformance, "w3c-bsl-rec", "encodedList-all-zero-vector.json")
    for variant in ("unsecured", "eddsa-rdfc-2022", "ecdsa-rdfc-2019"):
        subject = example[variant]["credentialSubject"]
        bits = status_list.decode_bitstring(subject["encodedList"])
        assert bits.set_indices() == zero["bits_set"]
        # Example 4's entry points into Example 5's list at index 94567: not revoked.
        index = int(entry[variant]["credentialStatus"]["statusListIndex"])
        assert status_list.status_at(bits, index) == 0


def test_1edtech_validator_list_has_exactly_its_entry_set(conformance: Path) -> None:
    """The 1EdTech validator's revoked fixture points at index 23 of its ``testlist``."""
    folder = conformance / "ob3" / "validator-fixtures" / "ob30" / "bit-string-list"
    listing = json.loads((folder / "testlist").read_text())
    credential = json.loads((folder / "credential-status-revoked.json").read_text())
    bits = status_list.decode_bitstring(listing["credentialSubject"]["encodedList"])
    index = credential["credentialStatus"]["statusListIndex"]
    assert bits.set_indices() == [index]
    assert status_list.status_at(bits, index) == 1
    assert status_list.status_at(bits, index + 1) == 0


# ------------------------------------------------------------------------------ IETF vectors


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_ietf_appendix_c_vectors(conformance: Path, bits: int) -> None:
    vectors = _load(conformance, "ietf-token-status-list", "appendix-c-test-vectors.json")
    vector = next(v for v in vectors["vectors"] if v["bits"] == bits)
    decoded = status_list.decode_token_list(vector["json"])
    assert decoded.bits == bits
    assert len(decoded.data) == vector["decoded_len_bytes"]
    assert decoded.entries == vector["size_entries"]
    listed = {int(i): v for i, v in vector["statuses_nonzero_or_listed"].items()}
    # Every listed index has exactly its value, and every other entry is 0.
    got = {i: status_list.token_status_at(decoded, i) for i in listed}
    assert got == listed
    per_byte = 8 // bits
    nonzero = {
        byte_index * per_byte + k
        for byte_index, byte in enumerate(decoded.data)
        if byte
        for k in range(per_byte)
        if (byte >> (k * bits)) & ((1 << bits) - 1)
    }
    assert nonzero == {i for i, v in listed.items() if v}


def test_ietf_section_4_examples(conformance: Path) -> None:
    examples = _load(conformance, "ietf-token-status-list", "section-4-examples.json")
    for name in ("bits1", "bits2"):
        example = examples[name]
        decoded = status_list.decode_token_list(example["json"])
        assert decoded.data.hex() == example["byte_array_hex"]
        statuses = [decoded.get(i) for i in range(len(example["statuses"]))]
        assert statuses == example["statuses"]
        # Our encoder produces the same byte array (compression output may differ by level).
        ours = status_list.encode_token_list(example["statuses"], example["json"]["bits"])
        assert status_list.decode_token_list(ours).data.hex() == example["byte_array_hex"]
    payload = examples["status_list_token_jwt_decoded"]["payload"]
    assert (
        status_list.decode_token_list(payload["status_list"]).data.hex()
        == (examples["bits1"]["byte_array_hex"])
    )


def test_ietf_section_8_2_token_parses_but_needs_its_key(conformance: Path) -> None:
    examples = _load(conformance, "ietf-token-status-list", "section-4-examples.json")
    token = examples["status_list_token_jwt_compact_from_8_2"]
    decoded = jose.decode_unverified(token)
    assert decoded.header == examples["status_list_token_jwt_decoded"]["header"]
    # No key is published: verification with any other key fails with a typed error.
    with pytest.raises(jose.InvalidSignature):
        status_list.verify_status_list_token(
            token,
            resolve_key=lambda _h: KEY.public_key(),
            now=datetime(2026, 1, 1, tzinfo=UTC),
            expected_uri="https://example.com/statuslists/1",
        )


# ------------------------------------------------------------------------------ round trips


@settings(max_examples=40, deadline=None)
@given(
    status_size=st.integers(1, 8),
    data=st.data(),
)
def test_bitstring_round_trip(status_size: int, data: st.DataObject) -> None:
    entries = 131_072 // status_size + data.draw(st.integers(0, 64))
    top = (1 << status_size) - 1
    values = data.draw(
        st.dictionaries(st.integers(0, entries - 1), st.integers(1, top), max_size=40)
    )
    encoded = status_list.encode_bitstring_values(values, size=entries, status_size=status_size)
    assert encoded.startswith("u")
    decoded = status_list.decode_bitstring(encoded, status_size=status_size)
    assert {i: decoded.get(i) for i in values} == values
    probe = data.draw(st.integers(0, entries - 1))
    assert decoded.get(probe) == values.get(probe, 0)
    if status_size == 1:
        assert decoded.set_indices() == sorted(values)


@settings(max_examples=40, deadline=None)
@given(index=st.integers(0, 131_071), value=st.booleans())
def test_bitstring_set_reads_back(index: int, value: bool) -> None:
    bits = Bitstring.zeros(131_072).set(index, int(value))
    assert bits.get(index) == int(value)
    assert status_list.decode_bitstring(status_list.encode_bitstring(bits)) == bits


def test_w3c_bit_order_is_left_most_first() -> None:
    bits = Bitstring.zeros(16).set(0, 1).set(9, 1)
    assert bits.data == bytes([0b1000_0000, 0b0100_0000])
    two = Bitstring.zeros(8, status_size=2).set(1, 0b10)
    assert two.data == bytes([0b0010_0000, 0])


@settings(max_examples=40, deadline=None)
@given(bits=st.sampled_from([1, 2, 4, 8]), data=st.data())
def test_token_list_round_trip(bits: int, data: st.DataObject) -> None:
    statuses = data.draw(st.lists(st.integers(0, (1 << bits) - 1), min_size=1, max_size=300))
    encoded = status_list.encode_token_list(statuses, bits)
    decoded = status_list.decode_token_list(encoded)
    assert [decoded.get(i) for i in range(len(statuses))] == statuses


def test_token_list_lsb_first() -> None:
    encoded = status_list.encode_token_list([1, 2, 0, 3], 2)
    assert status_list.decode_token_list(encoded).data == bytes([0b11_00_10_01])


# ------------------------------------------------------------------------------ hostile input


def _ok_compressed() -> bytes:
    return gzip.compress(bytes(16384), mtime=0)


@pytest.mark.parametrize(
    ("encoded", "error"),
    [
        ("", MalformedStatusList),
        ("zH4sI", MalformedStatusList),  # multibase base58btc, not base64url
        ("u" + base64url.encode(_ok_compressed()[:-6]), MalformedStatusList),  # truncated
        ("u" + base64url.encode(zlib.compress(bytes(16384))), MalformedStatusList),  # not GZIP
        ("u" + base64url.encode(b"\x1f\x8bnot really gzip"), MalformedStatusList),
        ("u" + base64url.encode(_ok_compressed() + b"junk"), MalformedStatusList),
        ("u" + base64url.encode(_ok_compressed()) + "=", MalformedStatusList),  # padding
        ("u!!!!", MalformedStatusList),
        (_gzip_u(bytes(16383)), StatusListTooShort),
        (_gzip_u(bytes(100)), StatusListTooShort),
    ],
)
def test_bad_encoded_lists_are_typed_errors(encoded: str, error: type[TaitoError]) -> None:
    with pytest.raises(error) as caught:
        status_list.decode_bitstring(encoded)
    assert caught.value.code == error.code


def test_oversize_inflate_is_refused_early() -> None:
    bomb = gzip.compress(bytes(64 * 1024 * 1024), mtime=0)  # 64 MiB of zeros in ~64 KB
    assert len(bomb) < 100_000
    with pytest.raises(StatusListTooLarge):
        status_list.decode_bitstring("u" + base64url.encode(bomb), max_bytes=1024 * 1024)
    zbomb = zlib.compress(bytes(64 * 1024 * 1024))
    with pytest.raises(StatusListTooLarge):
        status_list.decode_token_list(
            {"bits": 1, "lst": base64url.encode(zbomb)}, max_bytes=1024 * 1024
        )


def test_index_out_of_range_and_bad_sizes() -> None:
    bits = status_list.decode_bitstring(_gzip_u(bytes(16384)))
    with pytest.raises(StatusIndexOutOfRange):
        status_list.status_at(bits, 131_072)
    with pytest.raises(StatusIndexOutOfRange):
        status_list.status_at(bits, 65_536, status_size=2)
    with pytest.raises(StatusIndexOutOfRange):
        status_list.status_at(bits, -1)
    with pytest.raises(InvalidStatusSize):
        status_list.status_at(bits, 0, status_size=9)
    with pytest.raises(InvalidStatusSize):
        status_list.decode_token_list({"bits": 3, "lst": "eNrbuRgAAhcBXQ"})
    token = status_list.decode_token_list({"bits": 1, "lst": "eNrbuRgAAhcBXQ"})
    with pytest.raises(StatusIndexOutOfRange):
        status_list.token_status_at(token, 16)
    with pytest.raises(MalformedStatusList):
        status_list.decode_token_list({"bits": 1, "lst": base64.b64encode(b"x").decode()})
    with pytest.raises(MalformedStatusList):
        status_list.decode_token_list({"bits": 1})


def test_status_list_2021_has_no_multibase_prefix() -> None:
    encoded = status_list.encode_bitstring(Bitstring.zeros(131_072).set(5, 1), multibase=False)
    assert encoded.startswith("H4sI")
    assert status_list.decode_bitstring(encoded, multibase=False).set_indices() == [5]
    with pytest.raises(MalformedStatusList):
        status_list.decode_bitstring(encoded)  # without 'u' it is not a Bitstring Status List


# ------------------------------------------------------------------------- Status List Token


def _resolver(key: PublicKey) -> jose.KeyResolver:
    return lambda _header: key


def test_status_list_token_round_trip() -> None:
    uri = "https://issuer.example/status/1"
    token = status_list.sign_status_list_token(
        {3: 1, 7: 2},
        bits=2,
        size=16,
        uri=uri,
        signer=SIGNER,
        now=NOW,
        ttl=300,
        expires=NOW + timedelta(hours=1),
    )
    header = jose.decode_unverified(token).header
    assert header["typ"] == "statuslist+jwt"
    verified = status_list.verify_status_list_token(
        token, resolve_key=_resolver(KEY.public_key()), now=NOW, expected_uri=uri
    )
    assert verified.claims["sub"] == uri
    assert verified.ttl == 300
    assert [verified.status_list.get(i) for i in range(8)] == [0, 0, 0, 1, 0, 0, 0, 2]


def test_status_list_token_rules() -> None:
    uri = "https://issuer.example/status/1"
    token = status_list.sign_status_list_token(
        [0, 1], bits=1, uri=uri, signer=SIGNER, now=NOW, expires=NOW + timedelta(hours=1)
    )
    key = _resolver(KEY.public_key())
    with pytest.raises(InvalidStatusListToken):  # fetched for another URI (draft §8.3)
        status_list.verify_status_list_token(
            token, resolve_key=key, now=NOW, expected_uri="https://issuer.example/status/2"
        )
    with pytest.raises(InvalidStatusListToken):  # expired
        status_list.verify_status_list_token(
            token, resolve_key=key, now=NOW + timedelta(hours=2), expected_uri=uri
        )
    with pytest.raises(jose.InvalidSignature):  # another key
        status_list.verify_status_list_token(
            token,
            resolve_key=_resolver(jwk.generate("p256").public_key()),
            now=NOW,
            expected_uri=uri,
        )
    wrong_typ = jose.sign_compact(
        json.dumps(
            {"sub": uri, "iat": 1, "status_list": {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}}
        ).encode(),
        {"typ": "JWT"},
        SIGNER,
    )
    with pytest.raises(InvalidStatusListToken):
        status_list.verify_status_list_token(wrong_typ, resolve_key=key, now=NOW, expected_uri=uri)
    no_iat = jose.sign_compact(
        json.dumps({"sub": uri, "status_list": {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}}).encode(),
        {"typ": "statuslist+jwt"},
        SIGNER,
    )
    with pytest.raises(InvalidStatusListToken):
        status_list.verify_status_list_token(no_iat, resolve_key=key, now=NOW, expected_uri=uri)
