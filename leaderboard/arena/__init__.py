"""The arena: blind battles, signed vote tickets, rating sessions, the vote store, ratings, its tab and its CLI."""
