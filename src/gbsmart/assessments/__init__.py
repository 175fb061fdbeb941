"""User Security Assessments: cycles, SSC decisions, Director's Letters, findings kept RED (DOMAIN.md section 9)."""
