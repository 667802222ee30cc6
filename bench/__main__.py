"""``make bench``: sign / verify throughput per format, in-process, single thread.

Each operation is warmed up, then timed in 5 runs; the table gives the median rate of the runs and
p50 / p95 latency over every call. Raw ``cryptography`` signatures are the physical limit. Writes
``bench/RESULTS.md``. Figures on a shared 2-core machine are noisy: compare ratios from one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.inputs import open_badge
from keys import data_integrity, jwk, sd_jwt, vc_jwt
from keys.did import did_key, resolve_offline
from keys.signing import KeySigner
from schemas.contexts import ContextCache, StaticLoader

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def measure(
    operation: Callable[[], Any], *, runs: int = 5, seconds: float = 0.4
) -> dict[str, float]:
    for _ in range(3):
        operation()
    latencies: list[float] = []
    rates: list[float] = []
    for _ in range(runs):
        count, started = 0, time.perf_counter()
        while True:
            before = time.perf_counter()
            operation()
            after = time.perf_counter()
            latencies.append(after - before)
            count += 1
            if after - started >= seconds:
                break
        rates.append(count / (after - started))
    latencies.sort()
    return {
        "rate": statistics.median(rates),
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95)] * 1000,
    }


def loader() -> StaticLoader:
    shared = Path(os.environ.get("TAITO_SHARED_DIR", ROOT.parent / "shared"))
    cache = ContextCache(ROOT / "var" / "contexts")
    if cache.missing() and (shared / "contexts" / "MANIFEST.json").exists():
        cache.sync_from_dir(shared / "contexts")
    return cache.loader(include_test_only=False)


def operations(documents: StaticLoader) -> list[tuple[str, str, Callable[[], Any]]]:
    ed, p256, rsa = (jwk.generate(t) for t in ("ed25519", "p256", "rsa"))
    signers = {k.key_type: KeySigner.for_key(k) for k in (ed, p256, rsa)}
    rows: list[tuple[str, str, Callable[[], Any]]] = []
    message = b"x" * 64
    for key, name in ((ed, "Ed25519"), (p256, "ES256")):
        signature = key.sign(message)
        public = key.public_key()
        rows.append((f"raw {name} sign (limit)", "limit", lambda key=key: key.sign(message)))
        rows.append(
            (
                f"raw {name} verify (limit)",
                "limit",
                lambda public=public, signature=signature: public.verify(signature, message),
            )
        )

    for suite, key_type in (
        ("eddsa-rdfc-2022", "ed25519"),
        ("eddsa-jcs-2022", "ed25519"),
        ("ecdsa-rdfc-2019", "p256"),
    ):
        signer = signers[key_type]
        credential = open_badge(signer.key_id.split("#")[0])
        signed = data_integrity.add_proof(
            credential, signer=signer, cryptosuite=suite, loader=documents, created=NOW
        )
        rows.append(
            (
                f"{suite} sign (OB 3.0)",
                "taito",
                lambda c=credential, s=signer, n=suite: data_integrity.add_proof(
                    c, signer=s, cryptosuite=n, loader=documents, created=NOW
                ),
            )
        )
        rows.append(
            (
                f"{suite} verify (OB 3.0)",
                "taito",
                lambda d=signed: data_integrity.verify_proofs(
                    d, resolve_key=resolve_offline, loader=documents, now=NOW
                ),
            )
        )

    for key_type in ("ed25519", "p256", "rsa"):
        signer = signers[key_type]
        credential = open_badge(signer.key_id.split("#")[0])
        token = vc_jwt.sign_credential_jwt(credential, signer=signer, profile="ob3", now=NOW)
        alg = signer.algorithm
        rows.append(
            (
                f"VC-JWT {alg} sign (OB 3.0)",
                "taito",
                lambda c=credential, s=signer: vc_jwt.sign_credential_jwt(
                    c, signer=s, profile="ob3", now=NOW
                ),
            )
        )
        rows.append(
            (
                f"VC-JWT {alg} verify (OB 3.0)",
                "taito",
                lambda t=token: vc_jwt.verify_jwt_credential(
                    t, resolve_key=vc_jwt.resolve_offline_jwt_key, now=NOW
                ),
            )
        )

    issuer, holder = signers["p256"], KeySigner.for_key(jwk.generate("p256"))
    claims: dict[str, Any] = {
        "vct": "https://taito.example/vct/learning-credential",
        "iss": did_key(p256.public_key()),
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 86400 * 365,
        **{f"claim_{i}": f"value {i}" for i in range(12)},
    }
    pointers = [f"/claim_{i}" for i in range(12)]
    issued = sd_jwt.issue(
        claims, signer=issuer, disclosable=pointers, holder_key=holder.key.public_key()
    )
    presentation = sd_jwt.present(
        issued,
        reveal=pointers[:4],
        holder=holder,
        nonce="n",
        audience="https://verifier.example",
        iat=NOW,
    )
    rows.append(
        (
            "SD-JWT VC ES256 issue (12 disclosable)",
            "taito",
            lambda: sd_jwt.issue(
                claims, signer=issuer, disclosable=pointers, holder_key=holder.key.public_key()
            ),
        )
    )
    rows.append(
        (
            "SD-JWT VC + KB verify (4 of 12)",
            "taito",
            lambda: sd_jwt.verify(
                presentation,
                resolve_issuer_key=sd_jwt.resolve_offline_issuer_key,
                now=NOW,
                expected_nonce="n",
                expected_audience="https://verifier.example",
                require_key_binding=True,
            ),
        )
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=0.4, help="length of one timed run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    documents = loader()
    results = []
    for name, kind, operation in operations(documents):
        figures = measure(operation, seconds=args.seconds)
        results.append((name, kind, figures))
        print(
            f"{name:44} {figures['rate']:>10,.0f} /s  p50 {figures['p50_ms']:7.3f} ms"
            f"  p95 {figures['p95_ms']:7.3f} ms",
            file=sys.stderr,
        )
    limits = {
        name.split()[1]: f["rate"]
        for name, kind, f in results
        if kind == "limit" and "verify" in name
    }
    lines = [
        "# Benchmark results",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.processor() or 'cpu'}",
        f"- Python {platform.python_version()}, cryptography {version('cryptography')}, "
        f"pyld {version('pyld')}",
        f"- command: `make bench` (`python -m bench --seconds {args.seconds}`); single thread, "
        "in-process, median of 5 runs after warm-up",
        "",
        "| operation | ops/s | p50 ms | p95 ms | vs. raw verify of its algorithm |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, kind, f in results:
        limit = limits.get("ES256" if "ES256" in name or "ecdsa" in name else "Ed25519")
        ratio = (
            f"{f['rate'] / limit:.1%}"
            if kind == "taito" and "verify" in name and limit and "RS256" not in name
            else ""
        )
        lines.append(
            f"| {name} | {f['rate']:,.0f} | {f['p50_ms']:.3f} | {f['p95_ms']:.3f} | {ratio} |"
        )
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
