"""What the tests share besides fixtures: builders, fakes, clients. No tests live here."""
