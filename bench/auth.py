"""bench.auth — OIDC token issuance and userinfo under concurrent load on loopback.

A throw-away OneCity instance (its own SQLite database under a temporary var/) is served as in
production (`onecity serve`: gunicorn + WhiteNoise). Authorization codes are minted through the
real authorization endpoint (in-process, one per token request, each with its own PKCE
verifier, in batches just before use since codes expire after 60 s); 50 concurrent clients on
keep-alive connections then send:

1. GET /healthz — a minimal Django view served the same way (the baseline);
2. POST /o/token/ — code + PKCE exchange: client authentication, code check, access, refresh
   and RS256-signed ID token;
3. GET /o/userinfo/ — bearer-token check and pairwise claims.

Two measurements per endpoint, each beside the baseline under the same load (`ratio`):
- peak_rps: closed-loop clients sending as fast as the server answers (throughput; latency
  there is only concurrency / throughput, so it is reported but not the target);
- p99_at_<rate>rps: the same 50 clients sending `--rate` requests/s in all on their own
  schedules — the latency residents' apps see at that load. Target: p99 < 100 ms.

    .venv/bin/python -m bench.auth [--codes N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from bench._common import ROOT, LoadResult, emit, free_port, isolated_env, load, run_onecity, served

REDIRECT_URI = "http://127.0.0.1:9/callback"
SCOPES = "openid profile phone"
BATCH = 300  # codes minted at a time: they expire 60 seconds after issue


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def prepare(out: Path, codes: int) -> None:
    """Runs inside the instance's environment. The first call creates a citizen, a client and
    a consent; every call mints `codes` authorization codes through the authorization endpoint
    (codes live 60 seconds, so they are minted batch by batch just before use)."""
    import time

    import django

    django.setup()
    from django.conf import settings
    from django.test import Client
    from oauth2_provider.models import get_application_model

    from onecity.core.crypto import lookup_hash
    from onecity.identity.enums import AssuranceLevel, UserKind
    from onecity.identity.models import User
    from onecity.identity.services.oidc import client_create, consent_record

    setup = out.with_suffix(".client.json")
    user = User.objects.filter(username="bench-citizen").first()
    if user is None:
        phone = "13900001234"
        user = User.objects.create_user(username="bench-citizen", password=secrets.token_urlsafe(16),
                                        kind=UserKind.CITIZEN, display_name="压测市民", phone=phone,
                                        phone_hash=lookup_hash(phone, purpose="phone"))
        credentials = client_create(actor=None, name="压测应用", redirect_uris=[REDIRECT_URI])
        application = get_application_model().objects.get(client_id=credentials.client_id)
        consent_record(user=user, application=application, scopes=SCOPES.split(), allow=True)
        setup.write_text(json.dumps({"client_id": credentials.client_id,
                                     "client_secret": credentials.client_secret}))
    client = json.loads(setup.read_text())

    browser = Client(HTTP_HOST=settings.BASE_URL.split("://", 1)[1])
    browser.force_login(user)
    session = browser.session
    session["acr"] = AssuranceLevel.L1.value
    session["auth_time"] = int(time.time())
    session.save()

    minted = []
    for i in range(codes):
        verifier = secrets.token_urlsafe(48)
        response = browser.get("/o/authorize/", {
            "response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT_URI,
            "scope": SCOPES, "state": f"s{i}", "nonce": f"n{i}",
            "code_challenge": _challenge(verifier), "code_challenge_method": "S256",
        })
        location = response.headers.get("Location", "")
        if response.status_code != 302 or "code=" not in location:
            raise RuntimeError(f"authorization did not issue a code: {response.status_code} {location}")
        minted.append({"code": location.split("code=", 1)[1].split("&", 1)[0], "verifier": verifier})
    out.write_text(json.dumps({**client, "codes": minted}))


def mint(env: dict[str, str], codes: int) -> dict:
    out = Path(env["ONECITY_VAR_DIR"]) / "bench-auth.json"
    subprocess.run([sys.executable, "-m", "bench.auth", "--prepare", str(out), "--codes", str(codes)],
                   env=env, cwd=ROOT, check=True)
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, default=1500, help="token requests (one fresh code each)")
    parser.add_argument("--baseline", type=int, default=3000, help="baseline and userinfo requests")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rate", type=float, default=50.0, help="paced phase: requests/s from all clients")
    parser.add_argument("--seconds", type=float, default=15.0, help="paced phase: duration per endpoint")
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare(args.prepare, args.codes)
        return

    port = free_port()
    env = isolated_env(ONECITY_BASE_URL=f"http://127.0.0.1:{port}")
    print("# bench.auth: fresh SQLite instance, served by `onecity serve`", file=sys.stderr)
    run_onecity(env, "manage", "migrate", "--verbosity", "0")
    mint(env, 1)  # citizen, client and consent
    clients = args.concurrency
    tokens: list[str] = []

    def token_ok(response) -> bool:
        if response.status_code != 200:
            return False
        body = response.json()
        tokens.append(body["access_token"])
        return "id_token" in body

    def exchange(base: str, total: int, rate: float | None) -> LoadResult:
        batches = []
        for start in range(0, total, BATCH):  # codes live 60 s: mint each batch just before use
            batch = mint(env, min(BATCH, total - start))

            def token_request(i: int, batch=batch):
                code = batch["codes"][i]
                return ("POST", "/o/token/", {"data": {
                    "grant_type": "authorization_code", "code": code["code"], "redirect_uri": REDIRECT_URI,
                    "code_verifier": code["verifier"], "client_id": batch["client_id"],
                    "client_secret": batch["client_secret"]}})

            batches.append(load(base, token_request, len(batch["codes"]), clients, ok=token_ok, rate=rate))
        return LoadResult.merge(batches)

    def userinfo(i: int):
        return ("GET", "/o/userinfo/", {"headers": {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}})

    def healthz(i: int):
        return ("GET", "/healthz", {})

    with served(env, port, workers=int(os.environ.get("ONECITY_WEB_WORKERS", "0")) or 3) as base:
        load(base, healthz, 300, clients)  # warm-up
        # 1. saturation: closed-loop clients, as fast as the server answers
        peak = {"baseline": load(base, healthz, args.baseline, clients),
                "token": exchange(base, args.codes, None)}
        peak["userinfo"] = load(base, userinfo, args.baseline, clients)
        # 2. the latency users see: the same 50 clients sending `rate` requests/s in all
        paced_n = int(args.rate * args.seconds)
        paced = {"baseline": load(base, healthz, paced_n, clients, rate=args.rate),
                 "token": exchange(base, paced_n, args.rate),
                 "userinfo": load(base, userinfo, paced_n, clients, rate=args.rate)}

    common = {"concurrency": clients, "server": "onecity serve (gunicorn)", "database": "sqlite"}
    for label in ("baseline", "token", "userinfo"):
        name = "baseline_view" if label == "baseline" else label
        emit(f"auth.{name}.peak_rps", peak[label].rps, "req/s", peak[label].rps / peak["baseline"].rps,
             p99_ms=round(peak[label].percentile(99), 1), errors=peak[label].errors, **common)
    for label in ("baseline", "token", "userinfo"):
        name = "baseline_view" if label == "baseline" else label
        emit(f"auth.{name}.p99_at_{args.rate:g}rps", paced[label].percentile(99), "ms",
             paced[label].percentile(99) / paced["baseline"].percentile(99),
             p50_ms=round(paced[label].p50, 1), achieved_rps=round(paced[label].rps, 1),
             errors=paced[label].errors, target_ms=100, **common)


if __name__ == "__main__":
    main()
