"""SMS: the inbound keyword webhook and the outgoing gateways (Twilio, console)."""
