"""git: reading a repository at a ref, trial-applying patches, the App's clone cache."""
