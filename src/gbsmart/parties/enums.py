"""The vocabulary of parties (DOMAIN.md section 1): organisation kinds, Party Categories, portal roles and DCC User
Roles."""

from __future__ import annotations

from gbsmart.core.enums import LabelledEnum


class OrganisationKind(LabelledEnum):
    SEC_PARTY = "sec_party", "SEC Party", "blue"
    DCC = "dcc", "DCC", "purple"
    SECAS = "secas", "SECAS (Code Administrator)", "teal"
    AUTHORITY = "authority", "Authority", "red"
    CONSUMER = "consumer", "Consumer representative", "orange"
    PANEL = "panel", "SEC Panel", "grey"


class PartyCategory(LabelledEnum):
    """The five Party Categories of the SEC (DOMAIN.md section 1)."""

    LARGE_SUPPLIER = "large_supplier", "Large Supplier", "blue"
    SMALL_SUPPLIER = "small_supplier", "Small Supplier", "cyan"
    ELECTRICITY_NETWORK = "electricity_network", "Electricity Network Party", "yellow"
    GAS_NETWORK = "gas_network", "Gas Network Party", "orange"
    OTHER = "other", "Other SEC Party", "grey"


class Role(LabelledEnum):
    """What a person may do in gbsmart."""

    CODE_ADMINISTRATOR = "code_administrator", "Code Administrator", "teal"
    PANEL_MEMBER = "panel_member", "Panel member", "purple"
    COMMITTEE_MEMBER = "committee_member", "Committee member", "blue"
    PARTY_USER = "party_user", "Party user", "grey"
    DCC = "dcc", "DCC", "purple"
    AUTHORITY = "authority", "Authority", "red"
    # a party's Senior / Authorised Responsible Officer: signs ADT and quarantine action files (DP108, DP109)
    SENIOR_RESPONSIBLE_OFFICER = "senior_responsible_officer", "Senior Responsible Officer", "orange"
    AUTHORISED_RESPONSIBLE_OFFICER = "authorised_responsible_officer", "Authorised Responsible Officer", "orange"
    # manages the people of its own organisation and their SSI roles (issue 15; parties/people.py)
    PARTY_ADMINISTRATOR = "party_administrator", "Party administrator", "cyan"


class UserRole(LabelledEnum):
    """DCC User Roles (DOMAIN.md section 1)."""

    IS = "IS", "Import Supplier", "blue"
    ES = "ES", "Export Supplier", "cyan"
    GS = "GS", "Gas Supplier", "orange"
    ED = "ED", "Electricity Distributor", "yellow"
    GT = "GT", "Gas Transporter", "orange"
    OU = "OU", "Other User", "grey"
    RSA = "RSA", "Registered Supplier Agent", "grey"
