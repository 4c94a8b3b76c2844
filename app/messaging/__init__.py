"""Messages in and out on every channel: the one table recovery, inbox and analytics all read."""
