"""Server-side alerts: Slack (and a generic JSON webhook) once per new issue and per regression."""
