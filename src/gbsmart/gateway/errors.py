"""Why the gateway refuses a DUIS message: one typed error per cause, each with a plain message and its HTTP status.

The gateway answers a refusal before a request is accepted with the error's ``status`` (400 malformed or
invalid, 413 too large, 415 not UTF-8 XML, 403 signed by someone else's key) and its ``message``; ``reason``
is a short stable code for logs and tests. All are ``core.errors.AppError``s, so every boundary renders them.
"""

from __future__ import annotations

from typing import Any

from gbsmart.core.errors import AppError


class DuisRefused(AppError):
    """A DUIS message the gateway will not accept; ``reason`` is a stable short code, ``message`` says why."""

    status = 400
    reason = "refused"

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__(message, detail=detail)

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.message, "reason": self.reason, "detail": self.detail}


class BodyTooLarge(DuisRefused):
    status = 413
    reason = "too_large"


class UnsupportedMediaType(DuisRefused):
    status = 415
    reason = "unsupported_media_type"


class MalformedXml(DuisRefused):
    reason = "malformed_xml"


class ForbiddenXml(DuisRefused):
    """Well-formed XML using something DUIS never needs and attackers do: a DOCTYPE, entities, deep nesting."""

    reason = "forbidden_xml"


class NotDuis(DuisRefused):
    """XML, but not a DUIS Service Request (another root element or namespace)."""

    reason = "not_duis"


class UnsupportedSchemaVersion(DuisRefused):
    reason = "unsupported_schema_version"


class SchemaInvalid(DuisRefused):
    reason = "schema_invalid"


class MalformedHeader(DuisRefused):
    """The header's values cannot be used (a RequestID DUIS itself would refuse, a missing field)."""

    reason = "malformed_header"


class SignatureRefused(DuisRefused):
    """The XML Signature is missing, malformed, made with another algorithm or key, or does not match."""

    reason = "signature"


class Unsigned(SignatureRefused):
    reason = "unsigned"


class SignatureAlgorithmRefused(SignatureRefused):
    reason = "signature_algorithm"


class UnknownSigningCertificate(SignatureRefused):
    reason = "unknown_certificate"


class SignedByAnotherUser(SignatureRefused):
    status = 403
    reason = "signed_by_another_user"


class SignatureMismatch(SignatureRefused):
    reason = "signature_mismatch"
