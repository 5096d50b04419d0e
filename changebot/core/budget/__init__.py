"""The pipeline, its ``when:`` language, the spend seams, and the budget gate."""
