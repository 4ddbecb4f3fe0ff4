"""The program: symposia, their lectures and each lecture's CME field."""
