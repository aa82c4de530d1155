"""Print-ready letter PDFs."""
