"""The programme's rules and store: everything here is free of Flask, Twilio and the adapters."""
