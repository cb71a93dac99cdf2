"""What people read: the HTML report, the summary table, audits, the PR comment."""
