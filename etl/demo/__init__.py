"""The sample application database every tenant runs, and the demo that exercises it."""
