"""The device simulator and the delivery of asynchronous device responses (issue 10 point 4; docs/gateway.md).

``profiles``: latency and failure rate per Device Type and CSP Region (data: settings or a TOML file);
``devices.DeviceSimulator``: completes each acknowledged device request after its simulated latency with a
signed I0 or E20 / E21 Response; ``delivery.Delivery``: keeps every response durably and POSTs it to the
User's registered endpoint with retries; ``recovery``: finishes after a restart what a crash left undone;
``service``: the rules the CLI (and later the portal) use for endpoints and kept responses.
"""
