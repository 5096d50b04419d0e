"""What the App and the Action share: the event router, one handler per event, commands, publishing."""
