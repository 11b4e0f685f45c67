"""What every web adapter shares: the app factory, store per request, sign-in, languages."""
