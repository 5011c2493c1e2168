"""The Slack adapter: a slack-bolt app that verifies requests, checks admins and turns /news into
Commands calls (app); for several workspaces, the OAuth install and per-workspace tokens (oauth)."""
