"""What the console's pages show and do, without Flask: inboxes, diaries, status, statistics."""
