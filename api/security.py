"""Password hashing, signed login tokens and API tokens (pure, standard library only).

Login tokens are ``<payload>.<signature>``: base64url JSON claims signed with HMAC-SHA256 under
``settings.api_secret``: ``sub`` (the user), ``iat``/``exp``, ``jti`` (a random id, what logout
puts on the deny list) and ``ver`` (the user's token version when issued; an administrator's
"revoke all tokens" raises the version, which voids every older token). API tokens are random
strings prefixed ``anl_``; only their SHA-256 is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
API_TOKEN_PREFIX = "anl_"


class InvalidToken(Exception):
    """A token that is malformed, forged or expired."""


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$salt$hash`` of ``password``."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P,
                            dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches the stored hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                             p=int(p), dklen=len(digest) // 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(payload: str, secret: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def sign_token(subject: str, secret: str, *, now: float, ttl_s: float, version: int = 0) -> str:
    """A login token for ``subject`` valid for ``ttl_s`` seconds from ``now``, carrying the
    user's token ``version`` and a fresh random ``jti``."""
    claims = {"sub": subject, "iat": int(now), "exp": int(now + ttl_s), "ver": version,
              "jti": secrets.token_urlsafe(16)}
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{payload}.{_sign(payload, secret)}"


def read_token(token: str, secret: str, *, now: float) -> dict[str, Any]:
    """The claims of a valid login token; :class:`InvalidToken` otherwise."""
    payload, _, signature = token.partition(".")
    if not payload or not signature:
        raise InvalidToken("malformed token")
    # bytes: compare_digest refuses str with non-ASCII characters (a header may carry them)
    if not hmac.compare_digest(signature.encode(), _sign(payload, secret).encode()):
        raise InvalidToken("bad signature")
    try:
        claims = json.loads(_unb64(payload))
    except ValueError as exc:
        raise InvalidToken("malformed token") from exc
    if not isinstance(claims, dict) or not isinstance(claims.get("sub"), str) \
            or not isinstance(claims.get("jti"), str) or type(claims.get("ver")) is not int \
            or type(claims.get("exp")) is not int:
        raise InvalidToken("malformed token")  # also every token from before jti and ver
    if claims["exp"] <= now:
        raise InvalidToken("token expired")
    return claims


def new_api_token() -> str:
    """A fresh random API token (shown to its owner once)."""
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The SHA-256 hex digest under which a token (API token, personal link) is stored."""
    return hashlib.sha256(token.encode()).hexdigest()
