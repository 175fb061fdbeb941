"""Page layout, static assets, shared templates, sign-in and the request plumbing shared by API and pages."""
