"""Posts: what users write. Depends on the accounts app."""
