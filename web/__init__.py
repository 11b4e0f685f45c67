"""What every web adapter shares: the store per request, sign-in, languages, errors, health."""
