"""labelaudit: find, review and fix the wrong labels in a labeled dataset."""
