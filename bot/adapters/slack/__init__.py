"""The Slack adapter: a slack-bolt app that verifies requests, checks admins and turns /news into
Commands calls (app)."""
