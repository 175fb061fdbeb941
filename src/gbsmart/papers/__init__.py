"""Papers under the Panel Information Policy: classification, enforcement, PDFs and sub-committee reports."""
