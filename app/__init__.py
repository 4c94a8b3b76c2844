"""FollowUp: abandoned-checkout recovery."""
