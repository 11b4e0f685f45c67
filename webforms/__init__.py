"""Web forms: the citizen's one-time-link form and the municipalities' console."""
