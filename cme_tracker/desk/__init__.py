"""The attendance desk: the page clerks scan cards on, its offline shell, and walk-in registration."""
