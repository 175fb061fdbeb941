"""Why the gateway refuses a DUIS message: one typed error per cause, each with a plain message and its HTTP status.

The gateway answers a refusal before a request is accepted with the error's ``status`` (400 malformed or
invalid, 413 too large, 415 not UTF-8 XML, 403 signed by someone else's key) and its ``message``; ``reason``
(the class name in snake case) is a short stable code for logs and tests. All are ``core.errors.AppError``s,
so every boundary renders them.
"""

from __future__ import annotations

import re
from typing import Any

from gbsmart.core.errors import AppError


class DuisRefused(AppError):
    """A DUIS message the gateway will not accept; ``reason`` is a stable short code, ``message`` says why."""

    status = 400
    reason = "refused"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Each refusal's ``reason`` is its class name in snake case (``BodyTooLarge`` -> ``body_too_large``)."""
        super().__init_subclass__(**kwargs)
        cls.reason = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__(message, detail=detail)

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.message, "reason": self.reason, "detail": self.detail}


class BodyTooLarge(DuisRefused):
    """More bytes than the gateway accepts (setting duis_max_body_bytes)."""

    status = 413


class UnsupportedMediaType(DuisRefused):
    """Not UTF-8 XML: another Content-Type, charset or declared encoding."""

    status = 415


class MalformedXml(DuisRefused):
    """Not well-formed XML (libxml2's message, with line and column)."""


class ForbiddenXml(DuisRefused):
    """Well-formed XML using something DUIS never needs and attackers do: a DOCTYPE, entities, deep nesting."""


class NotDuis(DuisRefused):
    """XML, but not a DUIS Service Request (another root element or namespace)."""


class UnsupportedSchemaVersion(DuisRefused):
    """A schemaVersion other than 5.1 to 5.4, or none."""


class SchemaInvalid(DuisRefused):
    """The DUIS V5.4 schema refuses the document."""


class MalformedHeader(DuisRefused):
    """The header's values cannot be used (a RequestID DUIS itself would refuse, a missing field)."""


class SignatureRefused(DuisRefused):
    """The XML Signature is missing, malformed, made with another algorithm or key, or does not match."""


class Unsigned(SignatureRefused):
    """No ds:Signature at all."""


class SignatureAlgorithmRefused(SignatureRefused):
    """Another canonicalisation, signature or digest method, or other transforms, than DUIS's."""


class UnknownSigningCertificate(SignatureRefused):
    """The X509IssuerSerial names no certificate in the keystore."""


class SignedByAnotherUser(SignatureRefused):
    """The signing certificate is another User's than the RequestID's originator."""

    status = 403


class SignatureMismatch(SignatureRefused):
    """Digest or signature value does not match: changed after signing, or signed with another key."""
