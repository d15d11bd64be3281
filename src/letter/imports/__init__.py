"""CSV imports of contacts and CSV exports of them."""
