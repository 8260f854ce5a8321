"""genart leaderboard: prompt sets, the batch runner, scoring, tables and the leaderboard tab."""
