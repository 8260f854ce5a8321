"""The leaderboard's pages of the studio, registered through the `genart.pages` entry point (see genart_demo.pages)."""

from genart_demo.pages import Page

LEADERBOARD = Page("leaderboard", "Leaderboard", "leaderboard.ui:build_leaderboard_ui", 70)
ARENA = Page(
    "arena", "Arena", "leaderboard.arena.ui:build_arena_ui", 80, service="leaderboard.arena.battles:Arena.open"
)
