"""Lists (static sets of contacts) and topics (subscription preferences)."""
