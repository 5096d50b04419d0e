"""What-if: a governance change judged by what it would do to past merges and open pull requests."""
