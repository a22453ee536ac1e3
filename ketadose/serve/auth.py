"""Authenticating the EHR (CDS Hooks "Trusting CDS Clients"): a JWT in ``Authorization: Bearer``,
signed with an asymmetric key of an issuer the clinic trusts, for this endpoint (``aud``), not
expired, not replayed (``jti``).

The trusted issuers and their public keys come from a local file (``--jwks FILE``)::

    {"issuers": {"https://ehr.example.org/": {"keys": [ <JWK>, ... ]}}}

Keys are never fetched from a ``jku`` URL: the key set is agreed out of band.
"""

from __future__ import annotations

import json
import time

# Asymmetric algorithms only: the specification forbids `none` and symmetric (HMAC) algorithms;
# ES384 and RS384 are the recommended ones.
ALGORITHMS = ("ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
MAX_LIFETIME_S = 3600  # a token valid for longer than this is refused (replay window bound)
LEEWAY_S = 30


class Unauthorized(Exception):
    """401: the message says why, without echoing the token."""


def load_issuers(path: str) -> dict:
    """{issuer: {kid: key}} from the JWKS file; ValueError when unusable."""
    import jwt

    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    issuers = data.get("issuers") if isinstance(data, dict) else None
    if not isinstance(issuers, dict) or not issuers:
        raise ValueError('expected {"issuers": {"ISSUER": {"keys": [JWK, ...]}}}')
    out = {}
    for iss, jwks in issuers.items():
        keyset = jwt.PyJWKSet.from_dict(jwks)
        keys = {}
        for k in keyset.keys:
            if not k.key_id:
                raise ValueError(f"issuer {iss}: every key needs a kid")
            if getattr(k, "algorithm_name", None) not in ALGORITHMS:
                raise ValueError(f"issuer {iss}: key {k.key_id} is not for an asymmetric "
                                 "signing algorithm CDS Hooks allows")
            keys[k.key_id] = k
        out[iss] = keys
    return out


class Verifier:
    def __init__(self, issuers: dict):
        self.issuers = issuers
        self.seen: dict = {}  # jti -> exp, to refuse replays until the token expires
        self._prune_at = 1000

    def verify(self, header: str | None, audience: str | tuple) -> dict:
        import jwt

        if not header or not header.startswith("Bearer "):
            raise Unauthorized("missing bearer token")
        token = header[len("Bearer "):].strip()
        head, claims = _unverified(token)
        if head.get("alg") not in ALGORITHMS:
            raise Unauthorized("signing algorithm not allowed")
        iss, kid = claims.get("iss"), head.get("kid")
        keys = self.issuers.get(iss) if isinstance(iss, str) else None
        if keys is None:
            raise Unauthorized("untrusted issuer")
        key = keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise Unauthorized("unknown key id")
        if key.algorithm_name != head["alg"]:  # a key signs with the one algorithm it names
            raise Unauthorized("signing algorithm does not match the key")
        audiences = [audience] if isinstance(audience, str) else list(audience)
        try:
            claims = jwt.decode(token, key.key, algorithms=[head["alg"]], audience=audiences,
                                issuer=iss, leeway=LEEWAY_S,
                                options={"require": ["iss", "aud", "exp", "iat", "jti"]})
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {type(exc).__name__}") from None
        now = time.time()
        if claims["exp"] - now > MAX_LIFETIME_S:
            raise Unauthorized("token lifetime too long")
        self._forget(now)
        jti = str(claims["jti"])
        if jti in self.seen:
            raise Unauthorized("token replayed (jti already used)")
        self.seen[jti] = claims["exp"]
        return claims

    def _forget(self, now):
        """Expired tokens cannot be replayed (they fail the expiry check): forget them. The scan
        runs when the cache has doubled since the last one, not on every request."""
        if len(self.seen) > self._prune_at:
            for jti in [j for j, exp in self.seen.items() if exp + LEEWAY_S < now]:
                del self.seen[jti]
            self._prune_at = max(1000, 2 * len(self.seen))


def _unverified(token: str) -> tuple:
    """(header, claims) read without checking the signature, only to choose the issuer's key;
    the one verified decode (PyJWT) checks everything again. Read here once with the C base64
    and json decoders: PyJWT's own unverified reads cost as much as the verification."""
    import base64

    parts = token.split(".")
    if len(parts) != 3 or len(token) > 16384:
        raise Unauthorized("malformed token")
    try:
        head, claims = (json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
                        for p in parts[:2])
    except (ValueError, TypeError):  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise Unauthorized("malformed token") from None
    if not isinstance(head, dict) or not isinstance(claims, dict):
        raise Unauthorized("malformed token")
    return head, claims
