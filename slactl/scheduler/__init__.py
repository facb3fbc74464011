"""``slactl scheduler run``: ``service`` says when each job runs (APScheduler); ``metrics`` serves its own metrics."""
