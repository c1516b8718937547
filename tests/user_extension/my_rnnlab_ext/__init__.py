"""A user's own components, outside the rnnlab package (used by test_user_extension.py)."""
