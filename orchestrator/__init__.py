"""The conductor: model clients, the round loop, events, the run store, scenarios and the CLI."""
