"""DCC services: the DUIS codec (hardened parsing, schema validation, headers, XML signatures), then routing.

This first slice is the codec the gateway server will call for every message: ``xml`` (one hardened parser
and the DUIS V5.4 schema), ``duis`` (a request's header parsed once), ``matrix`` (the Service Request
Variants and the web service each must be sent to), ``keystore`` and ``signatures`` (XML Signature
verification against the originator's certificate, and signing with the DCC's key). docs/gateway.md says more.
"""
