"""SEC Parties and other bodies, people and their roles, DCC User IDs and User Roles."""
