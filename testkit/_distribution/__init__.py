"""Distribution: exploring in several processes (and, later, on a cluster)."""
