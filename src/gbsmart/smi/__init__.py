"""Smart Metering Inventory (SMI): devices, SMI Statuses, registration data and the CPL rule (DOMAIN.md section 5).

``service`` holds the use cases (including ``upsert_device_models`` and ``apply_cpl_statuses``, which the
CPL extract application calls), ``lookup`` the gateway's in-memory status index, ``generate`` the
synthetic national inventory.
"""
