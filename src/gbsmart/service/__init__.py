"""DCC service management: incidents against their Target Resolution Times (issue 13; DOMAIN.md section 8)."""
