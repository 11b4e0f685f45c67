"""The one home of user-facing text: every SMS, every voice prompt, and the page strings that
are not in templates, in Arabic, English and French (English msgids; the catalogs are in
web/translations/).

One way to compose an SMS: the code that decides an SMS is owed says *what* with a value of
`core.sayings` (a key and its parameters, never words), and `texts.sms.compose(saying,
language)` writes it in the recipient's language, exactly as it is stored and sent. Core code
that owes an SMS (core/citizen_requests.py, core/receipts.py, core/needs.py,
scoring/publishing.py) takes that function as its `compose` argument (`core.sayings.Compose`)
from the adapter or command that calls it; an adapter that owes one itself (the complaint
room's decisions, an SMS keyword's reply) calls it the same way. The voice menu says the same
keys with `texts.voice`. No module outside `texts/` writes the words of an SMS.

Ranked above core, scoring and distribution, whose values it names, and below web and the
adapters, which show what it writes; it imports nothing above it.
"""
