"""Protocol layer tests."""
