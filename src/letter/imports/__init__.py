"""CSV import and export of contacts (spec/001, spec/003 CSV imports)."""
