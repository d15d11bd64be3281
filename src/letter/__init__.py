"""Letter: self-hostable lifecycle email for SaaS teams."""

__version__ = "0.1.0"
