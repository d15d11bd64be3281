"""letterapp — the official Python SDK for the Letter Ingestion API.

Report users, accounts and events from your backend; the client batches them
on a background thread and sends them to ``POST /v1/batch``::

    import os
    from letterapp import Letter

    letter = Letter(api_key=os.environ["LETTER_API_KEY"])
    letter.identify(user_id="u_1", email="ada@example.com", traits={"plan": "free"})
    letter.track(user_id="u_1", event="Workspace Created")
    letter.close()

Standard library only; Python 3.8+.
"""

from ._client import Letter
from ._errors import ItemRejected, LetterError
from ._transport import Response, Transport, UrllibTransport
from ._version import __version__

__all__ = [
    "ItemRejected",
    "Letter",
    "LetterError",
    "Response",
    "Transport",
    "UrllibTransport",
    "__version__",
]
